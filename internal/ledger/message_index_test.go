package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// levelSeqs returns the seqs whose keys each level of the message index
// holds, in seq order.
func (f *fixture) levelSeqs() [][]uint64 {
	f.t.Helper()
	out := make([][]uint64, len(f.l.keys.levels))
	for i, table := range f.l.keys.levels {
		rows, err := f.l.rdb.QueryContext(f.ctx, `SELECT seq FROM `+table+` ORDER BY seq`)
		if err != nil {
			f.t.Fatal(err)
		}
		for rows.Next() {
			var seq uint64
			if err := rows.Scan(&seq); err != nil {
				f.t.Fatal(err)
			}
			out[i] = append(out[i], seq)
		}
		rows.Close()
	}
	return out
}

// TestMessageIndexAcrossMoves appends in batches of assorted sizes, with
// re-captures and entries that have no message id, while message keys
// move up the levels every 2, 4, 8, … entries (keyMove 2, fanout 2), far
// enough for keys to reach the last level, and batches cross several
// multiples at once. After every batch each level must hold exactly the
// keys the schedule puts there, and each message's lookups must find
// exactly its entries, wherever its keys are.
func TestMessageIndexAcrossMoves(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove, f.l.keyFanout = 2, 2
	levels := len(f.l.keys.levels)
	want := map[string][]uint64{}     // message id → its seqs, in order
	model := make([][]uint64, levels) // the seqs each level should hold
	n := 0
	for _, size := range []int{1, 3, 1, 7, 2, 12, 4, 4, 1, 9, 30, 2, 64, 5, 1, 100, 3, 33} {
		batch := make([]leaf.Entry, 0, size)
		for range size {
			switch {
			case n%6 == 5: // no message id: not in the message index
				batch = append(batch, leaf.Entry{Kind: leaf.KindConversation, ConversationID: fmt.Sprintf("conv-%d", n%3), PayloadSHA256: hashchain.Hash{byte(n)}})
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
		// The schedule: the batch's keys go to level 0, then level i moves
		// into level i+1 if the batch crossed a multiple of 2^(i+1).
		for _, e := range out {
			if e.MessageID != "" {
				model[0] = append(model[0], e.Seq)
			}
		}
		for i, every := 0, uint64(2); i+1 < levels && (out[0].Seq)/every != uint64(n)/every; i, every = i+1, every*2 {
			model[i+1] = append(model[i+1], model[i]...)
			slices.Sort(model[i+1])
			model[i] = nil
		}
		got := f.levelSeqs()
		for i := range levels {
			if !slices.Equal(got[i], model[i]) {
				t.Errorf("after %d entries: level %d (%s) holds %v, want %v", n, i, f.l.keys.levels[i], got[i], model[i])
			}
		}
		for id, seqs := range want {
			gotEntries, err := f.l.EntriesByMessage(f.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var gotSeqs []uint64
			for _, e := range gotEntries {
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
			for e, err := range f.l.Entries(f.ctx, Filter{Kind: leaf.KindMessage, MessageID: id, FromSeq: seqs[len(seqs)-1]}) {
				if err != nil {
					t.Fatal(err)
				}
				filtered = append(filtered, e.Seq)
			}
			if !slices.Equal(filtered, seqs[len(seqs)-1:]) {
				t.Errorf("Entries(message %s, from %d) = %v", id, seqs[len(seqs)-1], filtered)
			}
		}
	}
	if got := f.levelSeqs(); len(got[levels-1]) == 0 {
		t.Errorf("after %d entries no key reached the last level", n)
	}
	if _, ok, err := f.l.LatestCapture(f.ctx, "never-captured"); ok || err != nil {
		t.Errorf("LatestCapture of an unknown id: %v %v", ok, err)
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// TestMessageKeyCollision plants a message_keys row that gives one
// message's key to another message's entry, as a hash collision would:
// lookups must still return only the message's own entries.
func TestMessageKeyCollision(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove = 4
	out := f.appendN(10) // moves keys at 4 and 8: message_keys_1 and _recent both hold some
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
	levels := f.levelSeqs()
	if moved := len(slices.Concat(levels[1:]...)); moved != 0 || len(levels[0]) != 3 {
		t.Errorf("after rollback: %d keys moved, %d recent; want 0, 3", moved, len(levels[0]))
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
		"LatestCapture":      latestSQL(latestCaptureWhere(f.l.keys)),
		"LatestConversation": latestSQL(latestConversationWhere),
	}
	for name, fl := range map[string]Filter{
		"EntriesByMessage":      {MessageID: "m"},
		"EntriesByConversation": {ConversationID: "c"},
		"message and more":      {Kind: leaf.KindMessage, MessageID: "m", RunID: "r", FromSeq: 3, Limit: 2},
		"conversation and more": {Kind: leaf.KindMessage, ConversationID: "c", FromSeq: 3},
		"both":                  {MessageID: "m", ConversationID: "c"},
	} {
		queries[name], _ = entriesSQL(fl, f.l.keys)
	}
	for name, q := range queries {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		text := f.queryPlan(q, args...)
		if strings.Contains(text, "SCAN") || !strings.Contains(text, "SEARCH entries") {
			t.Errorf("%s: plan %q scans", name, text)
		}
	}
}

// queryPlan is SQLite's plan for q on the reader pool, its steps joined
// by "; ".
func (f *fixture) queryPlan(q string, args ...any) string {
	f.t.Helper()
	rows, err := f.l.rdb.QueryContext(f.ctx, `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		f.t.Fatalf("plan of %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			f.t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestReadOnlyVersion2Index: a version 2 ledger (eight levels, made
// before version 3 added entries_controls) that custody may not write,
// and so does not migrate, is read through all eight levels: its lookups
// find the keys that moves carried into the middle levels.
func TestReadOnlyVersion2Index(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove, f.l.keyFanout = 4, 2
	out := f.appendN(40)
	if middle := len(slices.Concat(f.levelSeqs()[1:7]...)); middle == 0 {
		t.Fatal("no key in the middle levels")
	}
	f.raw(`DROP INDEX entries_controls`, `PRAGMA user_version = 2`)
	isWritable = func(string) bool { return false }
	defer func() { isWritable = writable }()
	f.reopen()
	for _, e := range out {
		if got, ok, err := f.l.LatestCapture(f.ctx, e.MessageID); err != nil || !ok || got.Seq != e.Seq {
			t.Errorf("LatestCapture(seq %d) = %d %v %v", e.Seq, got.Seq, ok, err)
		}
	}
}
