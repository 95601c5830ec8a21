package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// countRows counts a table's rows through the reader pool.
func (f *fixture) countRows(table string) int {
	f.t.Helper()
	var n int
	if err := f.l.rdb.QueryRowContext(f.ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestMessageIndexAcrossMoves appends in batches of assorted sizes, with
// re-captures and entries that have no message id, while message keys move
// from message_keys_recent to message_keys every 5 entries. After every
// batch each message's lookups must find exactly its entries, wherever
// its keys are.
func TestMessageIndexAcrossMoves(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove = 5
	want := map[string][]uint64{} // message id → its seqs, in order
	var moved bool
	n := 0
	for _, size := range []int{1, 3, 1, 7, 2, 12, 4, 4, 1, 9} {
		batch := make([]Entry, 0, size)
		for range size {
			switch {
			case n%6 == 5: // no message id: not in the message index
				batch = append(batch, Entry{Kind: KindConversation, ConversationID: fmt.Sprintf("conv-%d", n%3), PayloadSHA256: hashchain.Hash{byte(n)}})
			case n%4 == 3: // a second capture of an earlier message
				e := message(fmt.Sprintf("conv-%d", n%3), n/2)
				e.PayloadSHA256[0] ^= byte(n)
				batch = append(batch, e)
			default:
				batch = append(batch, message(fmt.Sprintf("conv-%d", n%3), n))
			}
			n++
		}
		out, err := f.l.Append(f.ctx, batch...)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out {
			if e.MessageID != "" {
				want[e.MessageID] = append(want[e.MessageID], e.Seq)
			}
		}
		moved = moved || f.countRows("message_keys") > 0
		total := 0
		for id, seqs := range want {
			total += len(seqs)
			got, err := f.l.EntriesByMessage(f.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var gotSeqs []uint64
			for _, e := range got {
				if e.MessageID != id {
					t.Errorf("EntriesByMessage(%s) returned seq %d of message %s", id, e.Seq, e.MessageID)
				}
				gotSeqs = append(gotSeqs, e.Seq)
			}
			if !slices.Equal(gotSeqs, seqs) {
				t.Errorf("after %d entries: EntriesByMessage(%s) = %v, want %v", n, id, gotSeqs, seqs)
			}
			latest, ok, err := f.l.LatestCapture(f.ctx, id)
			if err != nil || !ok || latest.Seq != seqs[len(seqs)-1] {
				t.Errorf("after %d entries: LatestCapture(%s) = %d %v %v, want %d", n, id, latest.Seq, ok, err, seqs[len(seqs)-1])
			}
			// Combined with other filters and a start.
			var filtered []uint64
			for e, err := range f.l.Entries(f.ctx, Filter{Kind: KindMessage, MessageID: id, FromSeq: seqs[len(seqs)-1]}) {
				if err != nil {
					t.Fatal(err)
				}
				filtered = append(filtered, e.Seq)
			}
			if !slices.Equal(filtered, seqs[len(seqs)-1:]) {
				t.Errorf("Entries(message %s, from %d) = %v", id, seqs[len(seqs)-1], filtered)
			}
		}
		if keys := f.countRows("message_keys") + f.countRows("message_keys_recent"); keys != total {
			t.Errorf("after %d entries: %d message keys, want %d", n, keys, total)
		}
		if recent := f.countRows("message_keys_recent"); recent >= int(f.l.keyMove)+size {
			t.Errorf("after %d entries: %d keys still recent", n, recent)
		}
	}
	if !moved {
		t.Error("no keys were ever moved to message_keys")
	}
	if _, ok, err := f.l.LatestCapture(f.ctx, "never-captured"); ok || err != nil {
		t.Errorf("LatestCapture of an unknown id: %v %v", ok, err)
	}
	if rep := f.verify(VerifyOptions{}); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// TestMessageKeyCollision plants a message_keys row that gives one
// message's key to another message's entry, as a hash collision would:
// lookups must still return only the message's own entries.
func TestMessageKeyCollision(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove = 4
	out := f.appendN(10) // moves keys at 4 and 8: message_keys and _recent both hold some
	a, b, c := out[1], out[6], out[9]
	f.raw(fmt.Sprintf(`INSERT INTO message_keys (key, seq) VALUES (%d, %d)`, messageKey(a.MessageID), b.Seq),
		fmt.Sprintf(`INSERT INTO message_keys_recent (key, seq) VALUES (%d, %d)`, messageKey(a.MessageID), c.Seq))
	f.reopen()
	got, err := f.l.EntriesByMessage(f.ctx, a.MessageID)
	if err != nil || len(got) != 1 || got[0].Seq != a.Seq {
		t.Errorf("EntriesByMessage = %v, %v; want only seq %d", got, err, a.Seq)
	}
	latest, ok, err := f.l.LatestCapture(f.ctx, a.MessageID)
	if err != nil || !ok || latest.Seq != a.Seq {
		t.Errorf("LatestCapture = %d %v %v, want seq %d", latest.Seq, ok, err, a.Seq)
	}
}

// TestMessageKeyMoveRollsBack fails an Update after an append that moved
// the message keys: the move is undone with the entries.
func TestMessageKeyMoveRollsBack(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove = 4
	out := f.appendN(3)
	errStop := errors.New("stop")
	err := f.l.Update(f.ctx, func(tx *Tx) error {
		if _, err := tx.Append(message("conv-x", 100), message("conv-x", 101)); err != nil {
			return err
		}
		// The transaction sees the moved keys.
		if e, ok, err := tx.LatestCapture(out[0].MessageID); err != nil || !ok || e.Seq != 0 {
			t.Errorf("LatestCapture in tx: %d %v %v", e.Seq, ok, err)
		}
		if e, ok, err := tx.LatestCapture(messageID("conv-x", 101)); err != nil || !ok || e.Seq != 4 {
			t.Errorf("LatestCapture in tx: %d %v %v", e.Seq, ok, err)
		}
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if keys, recent := f.countRows("message_keys"), f.countRows("message_keys_recent"); keys != 0 || recent != 3 {
		t.Errorf("after rollback: %d keys moved, %d recent; want 0, 3", keys, recent)
	}
	if _, ok, _ := f.l.LatestCapture(f.ctx, messageID("conv-x", 100)); ok {
		t.Error("a rolled-back capture is found")
	}
	for _, e := range out {
		if got, ok, err := f.l.LatestCapture(f.ctx, e.MessageID); err != nil || !ok || got.Seq != e.Seq {
			t.Errorf("LatestCapture(seq %d) = %d %v %v", e.Seq, got.Seq, ok, err)
		}
	}
}

// TestLookupsUseIndexes checks SQLite's plan for every lookup by message
// or conversation: each must search, never scan, entries and the message
// index.
func TestLookupsUseIndexes(t *testing.T) {
	f := newFixture(t)
	f.appendN(50)
	queries := map[string]string{
		"LatestCapture":      latestSQL(latestCaptureWhere),
		"LatestConversation": latestSQL(latestConversationWhere),
	}
	for name, fl := range map[string]Filter{
		"EntriesByMessage":      {MessageID: "m"},
		"EntriesByConversation": {ConversationID: "c"},
		"message and more":      {Kind: KindMessage, MessageID: "m", RunID: "r", FromSeq: 3, Limit: 2},
		"conversation and more": {Kind: KindMessage, ConversationID: "c", FromSeq: 3},
		"both":                  {MessageID: "m", ConversationID: "c"},
	} {
		queries[name], _ = entriesSQL(fl)
	}
	for name, q := range queries {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		rows, err := f.l.rdb.QueryContext(f.ctx, `EXPLAIN QUERY PLAN `+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		if strings.Contains(text, "SCAN") || !strings.Contains(text, "SEARCH entries") {
			t.Errorf("%s: plan %q scans", name, text)
		}
	}
}
