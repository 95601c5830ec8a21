package ledger

import (
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestLatestCapturesMatchesLatestCapture: for ids captured once, several
// times (each change superseding the last), never, or repeated in the
// question, with the message index spread over its levels (small moves)
// and more ids than one query takes, LatestCaptures answers what
// LatestCapture answers id by id, outside and inside a transaction. An id
// captured in two conversations has an answer for each, the latest of
// that conversation, the older one included.
func TestLatestCapturesMatchesLatestCapture(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove, f.l.keyFanout = 4, 2
	var ids []string
	convOf := map[string]string{}
	for c := range 30 {
		conv := fmt.Sprintf("conv-%02d", c)
		var batch []leaf.Entry
		for i := range 9 {
			batch = append(batch, message(conv, i))
			ids = append(ids, messageID(conv, i))
			convOf[messageID(conv, i)] = conv
		}
		if _, err := f.l.Append(f.ctx, batch...); err != nil {
			t.Fatal(err)
		}
		// Some messages change, once or twice.
		for round := range c % 3 {
			e := message(conv, round)
			e.PayloadSHA256[0] ^= byte(round + 1)
			prev, ok, err := f.l.LatestCapture(f.ctx, e.MessageID)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			e.Supersedes = &prev.Seq
			if _, err := f.l.Append(f.ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Message 1 of conv-01 captured in another conversation too, after
	// its last capture in conv-01: that one stays conv-01's latest.
	shared := messageID("conv-01", 1)
	older, ok, err := f.l.LatestCapture(f.ctx, shared)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	other := message("conv-01", 1)
	other.ConversationID = "conv-other"
	if _, err := f.l.Append(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, "never-captured", messageID("conv-00", 0), "conv-01") // a repeat, and a conversation id
	check := func(got map[Capture]leaf.Entry, latest func(string) (leaf.Entry, bool, error)) {
		t.Helper()
		n := 0
		for _, id := range ids {
			want, ok, err := latest(id)
			if err != nil {
				t.Fatal(err)
			}
			e, found := got[Capture{want.ConversationID, id}]
			if found != ok {
				t.Fatalf("%s: found %v, LatestCapture %v", id, found, ok)
			}
			if ok {
				n++
				if e.Seq != want.Seq || string(e.Leaf) != string(want.Leaf) || e.LeafHash != want.LeafHash || e.Chain != want.Chain {
					t.Fatalf("%s: seq %d, LatestCapture seq %d", id, e.Seq, want.Seq)
				}
				if id != shared && want.ConversationID != convOf[id] {
					t.Fatalf("%s: latest capture in %q, want %q", id, want.ConversationID, convOf[id])
				}
			}
		}
		if e, found := got[Capture{"conv-01", shared}]; !found || e.Seq != older.Seq {
			t.Fatalf("%s in conv-01: found %v, seq %d, want seq %d", shared, found, e.Seq, older.Seq)
		}
		if len(got) != 271 || n != 271 {
			t.Fatalf("%d captures answered (%d ids asked with an answer), want 271 (271)", len(got), n)
		}
	}
	got, err := f.l.LatestCaptures(f.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	check(got, func(id string) (leaf.Entry, bool, error) { return f.l.LatestCapture(f.ctx, id) })
	err = f.l.Update(f.ctx, func(tx *Tx) error {
		got, err := tx.LatestCaptures(ids)
		if err != nil {
			return err
		}
		check(got, tx.LatestCapture)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.l.LatestCaptures(f.ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v %v", got, err)
	}
}
