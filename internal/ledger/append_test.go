package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// mixedBatch returns n entries of assorted shapes: messages, re-captures
// superseding earlier ones in the batch, entries without a message id,
// details that are canonical already and details that are not.
func mixedBatch(n int) []leaf.Entry {
	out := make([]leaf.Entry, n)
	for i := range out {
		switch {
		case i%7 == 3:
			out[i] = leaf.Entry{Kind: leaf.KindRun, RunID: fmt.Sprintf("run-%d", i),
				Detail: json.RawMessage(fmt.Sprintf(`{ "z": %d, "a": "x\u00e9\n", "n": [3, 2.50, true] }`, i))}
		case i%11 == 5:
			prev := uint64(i - 5)
			out[i] = out[i-5]
			out[i].Supersedes = &prev
			out[i].PayloadSHA256[0] ^= 0xff
		case i%11 == 0:
			e := message(fmt.Sprintf("conv-%d", i%3), i)
			e.Detail = json.RawMessage(strings.Repeat(" ", i) + `{"long":"` + strings.Repeat("y", 40*i) + `"}`)
			out[i] = e
		default:
			out[i] = message(fmt.Sprintf("conv-%d", i%3), i)
		}
	}
	return out
}

// TestAppendLargeBatch: a batch of many INSERT chunks, whose leaves are
// computed on another goroutine, comes out exactly as computing each
// leaf, hash and link in turn would, and is stored so.
func TestAppendLargeBatch(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	head, _ := f.l.Head(f.ctx)
	batch := mixedBatch(150)
	for i := range batch {
		if s := batch[i].Supersedes; s != nil {
			*s += head.Size
		}
	}
	out, err := f.l.Append(f.ctx, batch...)
	if err != nil {
		t.Fatal(err)
	}
	chain := head.Chain
	for i, e := range out {
		want := batch[i]
		want.Matter = f.l.Matter()
		want.At = t0.Truncate(1e6)
		leaf, err := want.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		chain = hashchain.ChainLink(chain, hashchain.LeafHash(leaf))
		if e.Seq != head.Size+uint64(i) || !bytes.Equal(e.Leaf, leaf) || e.LeafHash != hashchain.LeafHash(leaf) || e.Chain != chain {
			t.Fatalf("entry %d: seq %d, leaf %s, hash %x, chain %x; want seq %d, leaf %s, chain %x",
				i, e.Seq, e.Leaf, e.LeafHash, e.Chain, head.Size+uint64(i), leaf, chain)
		}
		if cap(e.Leaf) != len(e.Leaf) {
			t.Errorf("entry %d: leaf has room for %d more bytes: appending to it would overwrite the next", i, cap(e.Leaf)-len(e.Leaf))
		}
		stored, err := f.l.Entry(f.ctx, e.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored.Leaf, leaf) || stored.Chain != chain {
			t.Errorf("entry %d stored as %s", i, stored.Leaf)
		}
	}
	if h, _ := f.l.Head(f.ctx); h.Size != head.Size+150 || h.Chain != chain {
		t.Errorf("head %d %x, want %d %x", h.Size, h.Chain, head.Size+150, chain)
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// TestAppendInvalidLateInBatch: an entry near the end of a large batch
// that breaks the rules — its detail, above all, the one thing only
// computing the leaf would otherwise find — fails the Append before
// anything of the batch is inserted, and the transaction goes on.
func TestAppendInvalidLateInBatch(t *testing.T) {
	for name, spoil := range map[string]func(*leaf.Entry){
		"detail not JSON":  func(e *leaf.Entry) { e.Detail = json.RawMessage(`{"a":`) },
		"detail too large": func(e *leaf.Entry) { e.Detail = json.RawMessage(`{"a":1e400}`) },
		"no payload":       func(e *leaf.Entry) { e.PayloadSHA256 = hashchain.Hash{} },
		"bad supersedes":   func(e *leaf.Entry) { s := uint64(1 << 40); e.Supersedes = &s },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.appendN(4)
			bad := messages("conv-bad", 120)
			spoil(&bad[117])
			good := messages("conv-good", 40)
			err := f.l.Update(f.ctx, func(tx *Tx) error {
				if _, err := tx.Append(bad...); !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "seq 121") {
					t.Errorf("Append: %v, want ErrInvalidEntry at seq 121", err)
				}
				if h, _ := tx.Head(); h.Size != 4 {
					t.Errorf("head in tx %d, want 4", h.Size)
				}
				_, err := tx.Append(good...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := f.l.Head(f.ctx); h.Size != 44 {
				t.Errorf("size %d, want 44", h.Size)
			}
			if _, ok, err := f.l.LatestCapture(f.ctx, bad[0].MessageID); ok || err != nil {
				t.Errorf("a message of the refused batch is in the index: %v %v", ok, err)
			}
			if e, ok, err := f.l.LatestCapture(f.ctx, good[39].MessageID); !ok || err != nil || e.Seq != 43 {
				t.Errorf("LatestCapture of the last good entry: %d %v %v", e.Seq, ok, err)
			}
			if rep := f.verify(); !rep.OK || rep.Entries != 44 {
				t.Errorf("verify: %+v", rep)
			}
		})
	}
}

// TestUpdateRefusesBrokenTx: a function that carries on after an insert
// failed and returns nil does not get the transaction committed, since
// part of the failed batch may be in it.
func TestUpdateRefusesBrokenTx(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	if _, err := f.l.wdb.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON entries WHEN NEW.seq = 40 BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	err := f.l.Update(f.ctx, func(tx *Tx) error {
		if _, err := tx.Append(messages("conv-x", 100)...); err == nil {
			t.Error("the append past the boom trigger succeeded")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Update: %v, want the failed append's error", err)
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 2 {
		t.Errorf("size %d, want 2", h.Size)
	}
	if n := len(slices.Concat(f.levelSeqs()...)); n != 2 {
		t.Errorf("%d message keys, want 2", n)
	}
}

// TestUpdateCancelledSaysSo: a ctx that ends inside Update rolls the
// transaction back under it, and the commit then fails with "transaction
// has already been committed or rolled back"; the error must still match
// the ctx's end, which is how callers tell a Ctrl-C (exit 130) from a
// failure. Nothing of the transaction is kept.
func TestUpdateCancelledSaysSo(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	ctx, cancel := context.WithCancel(f.ctx)
	err := f.l.Update(ctx, func(tx *Tx) error {
		if _, err := tx.Append(messages("conv-x", 3)...); err != nil {
			return err
		}
		cancel()
		// database/sql rolls back on a goroutine of its own: wait for it.
		for range 1000 {
			if _, err := tx.tx.ExecContext(context.Background(), `SELECT 1`); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled before its commit: %v, want context.Canceled", err)
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 2 {
		t.Errorf("size %d, want 2", h.Size)
	}
}

// TestAppendFirstInvalidWins: a large batch is checked in two halves at
// once, yet the error is the one a check in order gives: the first
// failing entry's, and of its checks the first that fails (the rules,
// then Supersedes, then the detail), whichever half it is in.
func TestAppendFirstInvalidWins(t *testing.T) {
	badDetail := func(e *leaf.Entry) { e.Detail = json.RawMessage(`{"a":`) }
	noPayload := func(e *leaf.Entry) { e.PayloadSHA256 = hashchain.Hash{} }
	badSupersedes := func(e *leaf.Entry) { s := uint64(1 << 40); e.Supersedes = &s }
	for _, tc := range []struct {
		name  string
		spoil map[int][]func(*leaf.Entry)
		want  string // in the error
	}{
		{"second half only", map[int][]func(*leaf.Entry){90: {noPayload}}, "seq 92: "},
		{"both halves, detail first", map[int][]func(*leaf.Entry){20: {badDetail}, 90: {noPayload}}, "seq 22: invalid entry: detail"},
		{"both halves, rules first", map[int][]func(*leaf.Entry){5: {noPayload}, 70: {badDetail}}, "seq 7: "},
		{"supersedes before a detail in the first half", map[int][]func(*leaf.Entry){30: {badSupersedes}, 10: {}, 40: {badDetail}}, "seq 32: "},
		{"supersedes before the same entry's detail", map[int][]func(*leaf.Entry){75: {badSupersedes, badDetail}}, "seq 77: invalid entry: supersedes"},
		{"rules before the same entry's supersedes", map[int][]func(*leaf.Entry){75: {badSupersedes, noPayload}}, "seq 77: invalid entry: a message needs payload_sha256"},
		{"supersedes in the first half before the rules in the second", map[int][]func(*leaf.Entry){3: {badSupersedes}, 99: {noPayload}}, "seq 5: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.appendN(2)
			batch := messages("conv-order", 100)
			for i, fns := range tc.spoil {
				for _, fn := range fns {
					fn(&batch[i])
				}
			}
			_, err := f.l.Append(f.ctx, batch...)
			if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Append: %v, want ErrInvalidEntry with %q", err, tc.want)
			}
			if h, _ := f.l.Head(f.ctx); h.Size != 2 {
				t.Errorf("size %d, want 2", h.Size)
			}
		})
	}
}

// TestChunkBounds: the chunks cover the rows in order, each a power of
// two no larger than most, starting with first when there are that many
// rows, so that only a few INSERT texts exist.
func TestChunkBounds(t *testing.T) {
	for _, tc := range []struct{ first, most int }{{16, 32}, {128, 128}, {1, 4}} {
		sizes := map[int]bool{}
		for n := 0; n <= 1100; n++ {
			b := chunkBounds(n, tc.first, tc.most)
			if b[0] != 0 || b[len(b)-1] != n {
				t.Fatalf("chunkBounds(%d, %d, %d) = %v: does not cover 0 to %d", n, tc.first, tc.most, b, n)
			}
			for c := 0; c+1 < len(b); c++ {
				size := b[c+1] - b[c]
				if size <= 0 || size > tc.most || size&(size-1) != 0 {
					t.Fatalf("chunkBounds(%d, %d, %d) = %v: chunk of %d rows", n, tc.first, tc.most, b, size)
				}
				sizes[size] = true
			}
			if n >= tc.first && b[1] != tc.first {
				t.Fatalf("chunkBounds(%d, %d, %d) = %v: first chunk is not %d rows", n, tc.first, tc.most, b, tc.first)
			}
		}
		if len(sizes) > 8 {
			t.Errorf("first %d, most %d: %d chunk sizes", tc.first, tc.most, len(sizes))
		}
	}
}

// TestAppendCancelled: an append after the context of its Update was
// cancelled fails, and nothing of the transaction is committed — neither
// the batch appended before the cancel nor any part of the one after,
// although the INSERTs go to the driver directly (execRows) while
// database/sql rolls the transaction back on its own.
func TestAppendCancelled(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	for range 20 {
		ctx, cancel := context.WithCancel(f.ctx)
		err := f.l.Update(ctx, func(tx *Tx) error {
			if _, err := tx.Append(messages("conv-before", 50)...); err != nil {
				t.Errorf("append before the cancel: %v", err)
			}
			cancel()
			_, err := tx.Append(messages("conv-after", 200)...)
			if err == nil {
				t.Error("append after the cancel succeeded")
			}
			return nil
		})
		cancel()
		if err == nil {
			t.Fatal("Update committed after its context was cancelled")
		}
		if h, _ := f.l.Head(f.ctx); h.Size != 3 {
			t.Fatalf("size %d after a cancelled Update, want 3", h.Size)
		}
	}
	if n := len(slices.Concat(f.levelSeqs()...)); n != 3 {
		t.Errorf("%d message keys, want 3", n)
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}
