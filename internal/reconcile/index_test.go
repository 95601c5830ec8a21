package reconcile_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// captureLog appends message captures and remembers their seqs.
type captureLog struct {
	t   *testing.T
	l   *ledger.Ledger
	seq map[string]uint64 // "conv/msg" → seq of its latest capture
}

// capture appends a capture of conv/msg with text; a message captured
// before is superseded, as an export records a message that changed.
func (c *captureLog) capture(matter, conv, msg, text string) uint64 {
	c.t.Helper()
	key := conv + "/" + msg
	e := leaf.Entry{
		Kind: leaf.KindMessage, Matter: matter, ConversationID: conv, MessageID: msg,
		PayloadSHA256: hashchain.Hash{1},
		Compliance:    &leaf.Compliance{AuditRefs: []string{}, OriginalTimestamp: "2024-03-01T10:00:00.000Z"},
		Detail:        fmt.Appendf(nil, `{"content_sha256":%q,"from":"+100"}`, genesys.ContentHash(text)),
	}
	if prev, ok := c.seq[key]; ok {
		e.Supersedes = &prev
	}
	out, err := c.l.Append(context.Background(), e)
	if err != nil {
		c.t.Fatal(err)
	}
	c.seq[key] = out[0].Seq
	return out[0].Seq
}

type capture struct {
	conv, msg, content string
	seq                uint64
}

func each(t *testing.T, x *reconcile.LedgerIndex) []capture {
	t.Helper()
	var got []capture
	if err := x.Each(context.Background(), func(c diff.Captured) error {
		got = append(got, capture{c.ConversationID, c.MessageID, c.ContentSHA256, c.Seq})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLedgerIndexSupersedes checks that the index yields only the latest
// capture of each message — whether or not Conversation loaded the
// conversation first — in ledger order, within its matter, and as the
// ledger stood when the index was first used.
func TestLedgerIndexSupersedes(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log := &captureLog{t: t, l: l, seq: map[string]uint64{}}
	log.capture("m", "a", "a1", "old")
	log.capture("m", "a", "a2", "a2")
	log.capture("m", "b", "b1", "old")
	log.capture("other", "c", "c1", "c1")
	a1 := log.capture("m", "a", "a1", "new")
	b1 := log.capture("m", "b", "b1", "new")
	want := []capture{
		{"a", "a2", genesys.ContentHash("a2"), log.seq["a/a2"]},
		{"a", "a1", genesys.ContentHash("new"), a1},
		{"b", "b1", genesys.ContentHash("new"), b1},
	}
	slices.SortFunc(want, func(x, y capture) int { return int(x.seq) - int(y.seq) })

	for _, tc := range []struct {
		load  []string
		chunk int
	}{{nil, 8192}, {[]string{"a"}, 8192}, {[]string{"a", "b"}, 8192}, {[]string{"b", "absent"}, 8192},
		{nil, 1}, {nil, 2}, {[]string{"a"}, 3}} {
		load := tc.load
		t.Run(fmt.Sprintf("after loading %v, chunks of %d", load, tc.chunk), func(t *testing.T) {
			defer reconcile.SetEachChunk(tc.chunk)()
			x := &reconcile.LedgerIndex{L: l, Matter: "m"}
			for _, conv := range load {
				cs, err := x.Conversation(ctx, conv)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					if c.ContentSHA256 == genesys.ContentHash("old") {
						t.Errorf("Conversation(%s) gave a superseded capture of %s (seq %d)", conv, c.MessageID, c.Seq)
					}
				}
			}
			if got := each(t, x); !slices.Equal(got, want) {
				t.Errorf("Each:\n got %v\nwant %v", got, want)
			}
		})
	}

	t.Run("snapshot", func(t *testing.T) {
		x := &reconcile.LedgerIndex{L: l, Matter: "m"}
		before, err := x.Conversation(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		log.capture("m", "a", "a2", "newer") // after first use: not seen
		log.capture("m", "d", "d1", "d1")
		if got := each(t, x); !slices.Equal(got, want) {
			t.Errorf("Each saw entries appended after the index's first use:\n got %v\nwant %v", got, want)
		}
		after, err := x.Conversation(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("Conversation(a) changed with entries appended after first use:\n%v\n%v", before, after)
		}
		c, ok, err := x.Lookup(ctx, "a", "a2")
		if err != nil || !ok || c.ContentSHA256 != genesys.ContentHash("a2") {
			t.Errorf("Lookup(a/a2) = %v, %v, %v; want the capture before the snapshot", c, ok, err)
		}
		if n := len(each(t, &reconcile.LedgerIndex{L: l, Matter: "m"})); n != len(want)+1 {
			t.Errorf("a new index yields %d captures, want %d", n, len(want)+1)
		}
	})
}
