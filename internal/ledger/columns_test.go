package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// columnsFixture is a ledger of 8 messages of conv-a (seqs 0-7), 4 of
// conv-b (8-11) and a conversation entry of conv-c (12), its message
// index spread over levels (small moves).
func columnsFixture(t *testing.T) (*fixture, []leaf.Entry) {
	t.Helper()
	f := newFixture(t)
	f.l.keyMove, f.l.keyFanout = 4, 2
	batch := append(messages("conv-a", 8), messages("conv-b", 4)...)
	batch = append(batch, leaf.Entry{Kind: leaf.KindConversation, ConversationID: "conv-c", PayloadSHA256: hashchain.Hash{1}})
	out, err := f.l.Append(f.ctx, batch...)
	if err != nil {
		t.Fatal(err)
	}
	return f, out
}

// tamper changes entries rows' lookup columns (and the message index) as
// someone with write access to the file can, every hash left as it was.
func (f *fixture) tamper(stmts ...string) {
	f.t.Helper()
	f.raw(append([]string{`DROP TRIGGER entries_append_only_update`}, stmts...)...)
	f.reopen()
}

// wantColumnsError fails unless err is ErrInconsistent naming entry seq
// and column, and telling the reader to run custody verify.
func wantColumnsError(t *testing.T, what string, err error, seq uint64, column string) {
	t.Helper()
	if !errors.Is(err, ErrInconsistent) {
		t.Errorf("%s: error %v, want ErrInconsistent", what, err)
		return
	}
	for _, s := range []string{fmt.Sprintf("seq %d:", seq), column + " column", "run custody verify"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q does not say %q", what, err, s)
		}
	}
}

// TestLookupsCheckColumns: after the lookup columns of a row are changed
// (its hashes intact), every lookup that finds the row by them fails
// with ErrInconsistent naming the row and the column — none gives
// another message's entry, or an entry of another kind, as the answer.
func TestLookupsCheckColumns(t *testing.T) {
	t.Run("message_id", func(t *testing.T) {
		// The review's repro: seq 5 made to look like a capture of seq
		// 4's message, later than seq 4, in the columns and the index.
		f, out := columnsFixture(t)
		m4 := out[4].MessageID
		f.tamper(fmt.Sprintf(`UPDATE entries SET message_id = '%s' WHERE seq = 5`, m4),
			fmt.Sprintf(`INSERT INTO message_keys_recent (key, seq) VALUES (%d, 5)`, messageKey(m4)))
		_, err := f.l.LatestCaptures(f.ctx, []string{m4})
		wantColumnsError(t, "LatestCaptures", err, 5, "message_id")
		_, _, err = f.l.LatestCapture(f.ctx, m4)
		wantColumnsError(t, "LatestCapture", err, 5, "message_id")
		_, err = f.l.EntriesByMessage(f.ctx, m4)
		wantColumnsError(t, "EntriesByMessage", err, 5, "message_id")
		err = f.l.Update(f.ctx, func(tx *Tx) error {
			_, err := tx.LatestCaptures([]string{m4})
			return err
		})
		wantColumnsError(t, "Tx.LatestCaptures", err, 5, "message_id")
	})
	t.Run("kind", func(t *testing.T) {
		f, _ := columnsFixture(t)
		f.tamper(`UPDATE entries SET kind = 'hold' WHERE seq = 4`)
		_, err := collect(f.l.Entries(f.ctx, Filter{Kind: leaf.KindHold}))
		wantColumnsError(t, "Entries(kind hold)", err, 4, "kind")
		_, err = f.l.Controls(f.ctx)
		wantColumnsError(t, "Controls", err, 4, "kind")
	})
	t.Run("conversation_id", func(t *testing.T) {
		f, out := columnsFixture(t)
		f.tamper(`UPDATE entries SET conversation_id = 'conv-b' WHERE seq = 3`)
		_, err := f.l.EntriesByConversation(f.ctx, "conv-b")
		wantColumnsError(t, "EntriesByConversation", err, 3, "conversation_id")
		err = f.l.ConversationMessages(f.ctx, "conv-b", 100, func(leaf.Entry) error { return nil })
		wantColumnsError(t, "ConversationMessages", err, 3, "conversation_id")
		err = f.l.ConversationsMessages(f.ctx, []string{"conv-a", "conv-b"}, 100, func(string, leaf.Entry) error { return nil })
		wantColumnsError(t, "ConversationsMessages", err, 3, "conversation_id")
		// Keyed by the columns, seq 3 would be conv-b's capture of a
		// message conv-b never had.
		_, err = f.l.LatestCaptures(f.ctx, []string{out[3].MessageID})
		wantColumnsError(t, "LatestCaptures", err, 3, "conversation_id")
	})
	t.Run("run_id", func(t *testing.T) {
		f, _ := columnsFixture(t)
		f.tamper(`UPDATE entries SET run_id = 'run-other' WHERE seq = 9`)
		_, err := collect(f.l.Entries(f.ctx, Filter{RunID: "run-other"}))
		wantColumnsError(t, "Entries(run)", err, 9, "run_id")
	})
	t.Run("conversation entry", func(t *testing.T) {
		// A message after conv-c's conversation entry made to look like
		// a later capture of that conversation.
		f, _ := columnsFixture(t)
		if _, err := f.l.Append(f.ctx, message("conv-d", 0)); err != nil {
			t.Fatal(err)
		}
		f.tamper(`UPDATE entries SET kind = 'conversation', message_id = NULL, conversation_id = 'conv-c' WHERE seq = 13`)
		_, _, err := f.l.LatestConversation(f.ctx, "conv-c")
		wantColumnsError(t, "LatestConversation", err, 13, "kind")
	})
	t.Run("supersedes", func(t *testing.T) {
		// Seq 2 (conv-a's message 2) made to look like a capture of
		// conv-b's message 0: an append must not take a new capture of
		// that message as superseding it.
		f, out := columnsFixture(t)
		f.tamper(fmt.Sprintf(`UPDATE entries SET conversation_id = 'conv-b', message_id = '%s' WHERE seq = 2`, out[8].MessageID))
		e := message("conv-b", 0)
		e.PayloadSHA256[0] ^= 1
		e.Supersedes = new(uint64(2))
		_, err := f.l.Append(f.ctx, e)
		wantColumnsError(t, "Append", err, 2, "conversation_id")
	})
	t.Run("untouched", func(t *testing.T) {
		// The checks pass a ledger whose columns are custody's own.
		f, out := columnsFixture(t)
		ids := make([]string, 12)
		for i := range ids {
			ids[i] = out[i].MessageID
		}
		latest, err := f.l.LatestCaptures(f.ctx, ids)
		if err != nil || len(latest) != 12 {
			t.Fatalf("LatestCaptures: %d, %v", len(latest), err)
		}
		for _, fl := range []Filter{{Kind: leaf.KindMessage}, {ConversationID: "conv-b"}, {MessageID: ids[6]}, {RunID: "run-0001"}, {Kind: leaf.KindConversation, ConversationID: "conv-c"}} {
			if _, err := collect(f.l.Entries(f.ctx, fl)); err != nil {
				t.Errorf("Entries(%+v): %v", fl, err)
			}
		}
		if _, ok, err := f.l.LatestConversation(f.ctx, "conv-c"); err != nil || !ok {
			t.Errorf("LatestConversation: %v %v", ok, err)
		}
		e := message("conv-b", 0)
		e.PayloadSHA256[0] ^= 1
		e.Supersedes = new(uint64(8))
		if _, err := f.l.Append(f.ctx, e); err != nil {
			t.Errorf("Append superseding seq 8: %v", err)
		}
	})
}

// TestLookupFingerprints: SipHash-2-4, in C and in Go, gives the
// reference vectors; the fingerprints SQLite computes of the rows' lookup
// columns and the sum it computes of the message index's are those Go
// computes of the leaves' members and of the index rows they call for; and a change of any one column
// (NULL for "", a value moved to another column or row) or of the index
// changes them.
func TestLookupFingerprints(t *testing.T) {
	var k0, k1 uint64 = 0x0706050403020100, 0x0f0e0d0c0b0a0908
	msg := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	w := binary.LittleEndian.Uint64(msg)
	for n, want := range map[int]uint64{8: 0x93f5f5799a932462, 15: 0xa129ca6149be45e5} {
		if got := sipC(k0, k1, w, msg[8:n]); got != want {
			t.Errorf("SipHash-2-4 in C of %d bytes = %#x, want %#x", n, got, want)
		}
		if got := sipWordString(k0, k1, w, string(msg[8:n])); got != want {
			t.Errorf("SipHash-2-4 in Go of %d bytes = %#x, want %#x", n, got, want)
		}
	}
	for n := range 40 { // every length of the final block, in both
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(7*i + n)
		}
		if c, g := sipC(k1, k0, uint64(n), b), sipWordString(k1, k0, uint64(n), string(b)); c != g {
			t.Errorf("%d bytes: C %#x, Go %#x", n, c, g)
		}
	}

	f, out := columnsFixture(t)
	key := NewLookupKey()
	sums := func() (cols uint64, rows int64, index uint64) {
		t.Helper()
		s, err := f.l.Snapshot(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for row, err := range s.EntriesFingerprinted(f.ctx, key) {
			if err != nil {
				t.Fatal(err)
			}
			cols += row.ColumnsFP
		}
		if rows, index, err = s.MessageIndexSum(f.ctx, key); err != nil {
			t.Fatal(err)
		}
		return cols, rows, index
	}
	var wantCols, wantIndex uint64
	var wantRows int64
	for _, e := range out {
		wantCols += ColumnsFingerprint(key, e.Seq, &e)
		if e.MessageID != "" {
			wantRows++
			wantIndex += IndexRowFingerprint(key, messageKey(e.MessageID), int64(e.Seq))
		}
	}
	if c, n, i := sums(); c != wantCols || n != wantRows || i != wantIndex {
		t.Fatalf("SQLite: columns %#x, index %d rows %#x; Go: %#x, %d rows %#x", c, n, i, wantCols, wantRows, wantIndex)
	}

	for _, change := range []string{
		`UPDATE entries SET run_id = NULL WHERE seq = 1`,
		`UPDATE entries SET run_id = '' WHERE seq = 1`,
		`UPDATE entries SET conversation_id = NULL, run_id = conversation_id WHERE seq = 2`,
		`UPDATE entries SET conversation_id = '' WHERE seq = 12`,
		`UPDATE entries SET message_id = (SELECT message_id FROM entries WHERE seq = 4) WHERE seq = 3`,
	} {
		g, _ := columnsFixture(t)
		g.tamper(change)
		f = g
		if c, _, _ := sums(); c == wantCols {
			t.Errorf("%s: the columns' sum is unchanged", change)
		}
	}
	// The fixture's keys are in level 2 (moves at 4 and 8 entries).
	for _, change := range []string{
		`INSERT INTO message_keys SELECT key, seq FROM message_keys_2 WHERE seq = 5`,
		`UPDATE message_keys_2 SET key = key + 1 WHERE seq = 5`,
		`UPDATE message_keys_2 SET seq = 6 WHERE seq = 5`,
		`DELETE FROM message_keys_2 WHERE seq = 5`,
	} {
		g, _ := columnsFixture(t)
		g.raw(change)
		g.reopen()
		f = g
		if _, n, i := sums(); n == wantRows && i == wantIndex {
			t.Errorf("%s: the index's sum is unchanged", change)
		}
	}
}

// unstrict takes STRICT off the entries table and the message index's
// level 2 (and the latter key's type), as anyone who can write the file
// can (writable_schema), so that their columns keep values of any type.
func (f *fixture) unstrict() {
	f.t.Helper()
	f.raw(`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'entries'`,
		`UPDATE sqlite_schema SET sql = replace(replace(sql, ') STRICT, WITHOUT ROWID', ') WITHOUT ROWID'), 'key INTEGER', 'key') WHERE name = 'message_keys_2'`)
}

// TestLookupAidsOfAnotherType: a lookup column stored as a BLOB (or a
// number) with the bytes of its leaf's member, or an index key or seq
// stored as text, escapes every lookup (a BLOB never equals a text
// argument), so it must not pass for the value it imitates: the
// fingerprints differ from what the leaves call for, the columns read
// for a diagnosis say what the value is, and the index rows read for one
// leave such a row out (the entry's row is then missing). Before, the C
// fingerprint hashed any value's text, and database/sql read a BLOB back
// as the same string.
func TestLookupAidsOfAnotherType(t *testing.T) {
	f, out := columnsFixture(t)
	key := NewLookupKey()
	f.unstrict()
	f.tamper(`UPDATE entries SET message_id = CAST(message_id AS BLOB), conversation_id = CAST(conversation_id AS BLOB) WHERE seq = 5`,
		`UPDATE message_keys_2 SET key = CAST(key AS TEXT) WHERE seq = 6`)
	s, err := f.l.Snapshot(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for row, err := range s.EntriesFingerprinted(f.ctx, key) {
		if err != nil {
			t.Fatal(err)
		}
		e := out[row.Seq]
		if same := row.ColumnsFP == ColumnsFingerprint(key, row.Seq, &e); same != (row.Seq != 5) {
			t.Errorf("seq %d: SQLite's fingerprint equal to the leaf's: %v", row.Seq, same)
		}
	}
	var wantIndex uint64
	for _, e := range out {
		if e.MessageID != "" {
			wantIndex += IndexRowFingerprint(key, messageKey(e.MessageID), int64(e.Seq))
		}
	}
	if _, sum, err := s.MessageIndexSum(f.ctx, key); err != nil || sum == wantIndex {
		t.Errorf("the index's sum with a key stored as text: %#x, %v; equal to the entries' (%#x)", sum, err, wantIndex)
	}
	for row, err := range s.EntriesWithColumns(f.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if row.Seq != 5 {
			continue
		}
		bad := strings.Join(row.Columns.Mismatches(&out[5]), "; ")
		if !strings.Contains(bad, "its message_id column is a blob value, not text") || !strings.Contains(bad, "its conversation_id column is a blob value") {
			t.Errorf("seq 5's columns, read for a diagnosis: %q", bad)
		}
	}
	seen6 := false
	if err := s.MessageIndex(f.ctx, func(_, seq int64) error {
		seen6 = seen6 || seq == 6
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen6 {
		t.Error("the index row of seq 6 whose key is text was read as an integer row")
	}
}

// TestSubjectFingerprint: the supersedes rule's fingerprint tells
// subjects apart, moved boundaries between the members included, and
// depends on the key.
func TestSubjectFingerprint(t *testing.T) {
	k := NewLookupKey()
	subjects := []leaf.Entry{
		{Kind: "message", ConversationID: "c1", MessageID: "m1"},
		{Kind: "message", ConversationID: "c1", MessageID: "m2"},
		{Kind: "message", ConversationID: "c2", MessageID: "m1"},
		{Kind: "conversation", ConversationID: "c1", MessageID: "m1"},
		{Kind: "message", ConversationID: "c1m", MessageID: "1"},
		{Kind: "messagec", ConversationID: "1", MessageID: "m1"},
		{Kind: "message", ConversationID: "c1"},
		{Kind: "message", MessageID: "c1"},
		{},
	}
	seen := map[uint64]int{}
	for i := range subjects {
		fp := SubjectFingerprint(k, &subjects[i])
		if j, ok := seen[fp]; ok {
			t.Errorf("subjects %+v and %+v share fingerprint %x", subjects[j], subjects[i], fp)
		}
		seen[fp] = i
		same := subjects[i]
		same.RunID, same.Matter = "run-x", "matter-y" // not the subject
		if got := SubjectFingerprint(k, &same); got != fp {
			t.Errorf("%+v: fingerprint %x with other members, %x without", subjects[i], got, fp)
		}
		if other := SubjectFingerprint(NewLookupKey(), &subjects[i]); other == fp {
			t.Errorf("%+v: the same fingerprint %x under two drawn keys", subjects[i], fp)
		}
	}
}
