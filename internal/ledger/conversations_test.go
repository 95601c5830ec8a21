package ledger

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestConversationIDs lists each conversation once, in byte order, from
// the conversation index alone (no pass over the entries' rows).
func TestConversationIDs(t *testing.T) {
	f := newFixture(t)
	for _, conv := range []string{"c-b", "c-a", "c-b", "c-c"} {
		if _, err := f.l.Append(f.ctx, messages(conv, 2)...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r1"}); err != nil { // no conversation
		t.Fatal(err)
	}
	var got []string
	if err := f.l.ConversationIDs(f.ctx, func(id string) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"c-a", "c-b", "c-c"}; !slices.Equal(got, want) {
		t.Errorf("ConversationIDs = %q, want %q", got, want)
	}
	if text := f.queryPlan(conversationIDsSQL); !strings.Contains(text, "COVERING INDEX") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("plan %q does not read the conversation index alone, in order", text)
	}
}

// TestEntriesAt reads entries by seq across query chunks and names the
// first seq that is not there.
func TestEntriesAt(t *testing.T) {
	f := newFixture(t)
	f.appendN(600)
	var want []uint64
	for s := uint64(1); s < 600; s += 2 {
		want = append(want, s)
	}
	var got []uint64
	if err := f.l.EntriesAt(f.ctx, want, func(e leaf.Entry) error {
		if e.MessageID == "" || len(e.Leaf) == 0 {
			t.Fatalf("entry %d not decoded", e.Seq)
		}
		got = append(got, e.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("EntriesAt read %d entries, want %d", len(got), len(want))
	}
	err := f.l.EntriesAt(f.ctx, []uint64{3, 599, 600, 601}, func(leaf.Entry) error { return nil })
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "600") {
		t.Errorf("EntriesAt past the end: %v, want ErrNotFound naming 600", err)
	}
}

// TestLeavesAt reads the same rows as EntriesAt, leaf bytes alone.
func TestLeavesAt(t *testing.T) {
	f := newFixture(t)
	f.appendN(600)
	want := map[uint64][]byte{}
	var seqs []uint64
	for s := uint64(0); s < 600; s += 3 {
		seqs = append(seqs, s)
	}
	if err := f.l.EntriesAt(f.ctx, seqs, func(e leaf.Entry) error {
		want[e.Seq] = bytes.Clone(e.Leaf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := map[uint64][]byte{}
	if err := f.l.LeavesAt(f.ctx, seqs, func(seq uint64, leaf []byte) error {
		if _, dup := got[seq]; dup {
			t.Fatalf("seq %d twice", seq)
		}
		got[seq] = bytes.Clone(leaf) // valid only during the call
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("LeavesAt read %d leaves, want %d", len(got), len(want))
	}
	for seq, w := range want {
		if !bytes.Equal(got[seq], w) {
			t.Fatalf("seq %d: leaf %q, want %q", seq, got[seq], w)
		}
	}
	err := f.l.LeavesAt(f.ctx, []uint64{3, 599, 600}, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "600") {
		t.Errorf("LeavesAt past the end: %v, want ErrNotFound naming 600", err)
	}
	stop := errors.New("stop")
	if err := f.l.LeavesAt(f.ctx, seqs, func(uint64, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("LeavesAt: fn's error %v not returned", err)
	}
}

// TestCheckpointFromBase: a checkpoint resumed from a prepared base signs
// the same tree a full check would, still checks what was appended after
// the base, and ignores a base a newer checkpoint has overtaken.
func TestCheckpointFromBase(t *testing.T) {
	f := newFixture(t)
	f.appendN(30)
	f.checkpoint()
	f.appendN(20)
	base, err := f.l.PrepareCheckpoint(f.ctx)
	if err != nil || base.Size() != 50 {
		t.Fatalf("PrepareCheckpoint: %v, size %d", err, base.Size())
	}
	f.appendN(7)
	cp, err := f.l.CheckpointFrom(f.ctx, f.signer, base)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.l.Checkpoint(f.ctx, f.signer) // a full check of the same tree
	if err != nil || again.ID != cp.ID || again.Root != cp.Root || cp.Size != 57 {
		t.Fatalf("full checkpoint %+v (%v), resumed %+v", again, err, cp)
	}
	if rep := f.verify(); !rep.OK {
		t.Fatalf("verify: %+v", rep.Findings)
	}

	// The base predates checkpoint cp: ignored, and the result still right.
	f.appendN(3)
	cp2, err := f.l.CheckpointFrom(f.ctx, f.signer, base)
	if err != nil || cp2.Size != 60 {
		t.Fatalf("CheckpointFrom an overtaken base: %+v, %v", cp2, err)
	}

	// An entry appended after the base and then altered is caught.
	base, err = f.l.PrepareCheckpoint(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.appendN(2)
	f.raw(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'inbound', 'outbound') AS BLOB) WHERE seq = 61`)
	f.reopen()
	if _, err := f.l.CheckpointFrom(f.ctx, f.signer, base); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("CheckpointFrom over an altered new entry: %v, want ErrInconsistent", err)
	}
}
