package verify_test

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/verify"
)

// want is one finding a columns or index tamper must produce.
type want struct {
	check   string
	seq     uint64
	message string
}

// lookupTamper is SQL run on the tamper fixture and the findings of
// columns and index it must produce, in order.
type lookupTamper struct {
	name string
	sql  []string
	want []want
}

// lookupTampers change the lookup columns or the message index of the
// tamper fixture, and nothing else: the findings of columns and index
// each must produce (TestVerifyColumnsAndIndex), and on which the
// appendix's verifier must agree with custody
// (TestIndependentLedgerVerifier).
var lookupTampers = func() []lookupTamper {
	const upd = `DROP TRIGGER entries_append_only_update`
	return []lookupTamper{
		{
			// The review's repro: seq 5 made to look like a capture of seq
			// 3's message, in its column and in the index.
			name: "message_id column and index row",
			sql: []string{upd, `UPDATE entries SET message_id = (SELECT message_id FROM entries WHERE seq = 3) WHERE seq = 5`,
				`INSERT INTO message_keys_recent SELECT key, 5 FROM message_keys_recent WHERE seq = 3`},
			want: []want{
				{verify.CheckColumns, 5, `its message_id column is "`},
				{verify.CheckIndex, 5, "the message index has a row giving this entry the key"},
			},
		},
		{
			name: "kind column",
			sql:  []string{upd, `UPDATE entries SET kind = 'hold' WHERE seq = 4`},
			want: []want{{verify.CheckColumns, 4, `its kind column is "hold" but its leaf's kind is "message"`}},
		},
		{
			name: "two columns of two rows",
			sql:  []string{upd, `UPDATE entries SET conversation_id = NULL, run_id = 'run-x' WHERE seq = 2`, `UPDATE entries SET run_id = '' WHERE seq = 8`},
			want: []want{
				{verify.CheckColumns, 2, `its conversation_id column is NULL but its leaf's conversation_id is "conv-02"; its run_id column is "run-x" but its leaf's run_id is "run-0001"`},
				{verify.CheckColumns, 8, `its run_id column is "" but its leaf's run_id is "run-0001"`},
			},
		},
		{
			name: "index row deleted",
			sql:  []string{`DELETE FROM message_keys_recent WHERE seq = 6`},
			want: []want{{verify.CheckIndex, 6, "the message index has no row for this entry's message id (key "}},
		},
		{
			name: "index emptied",
			sql:  []string{`DELETE FROM message_keys_recent`},
			want: []want{{verify.CheckIndex, 0, "in all the index lacks 10 rows and holds 0 it should not, of 10 entries with a message id"}},
		},
		{
			name: "index row moved to another entry",
			sql:  []string{`UPDATE message_keys_recent SET seq = 7 WHERE seq = 6`},
			want: []want{{verify.CheckIndex, 6, "lacks 1 row and holds 1 it should not"}},
		},
		{
			name: "index row twice",
			sql:  []string{`INSERT INTO message_keys SELECT key, seq FROM message_keys_recent WHERE seq = 8`},
			want: []want{{verify.CheckIndex, 8, "the message index holds this entry's row (key "}},
		},
		{
			name: "index row in another level",
			sql:  []string{`INSERT INTO message_keys_3 SELECT key, seq FROM message_keys_recent WHERE seq = 8`, `DELETE FROM message_keys_recent WHERE seq = 8`},
		},
	}
}()

// TestVerifyColumnsAndIndex: the lookup columns and the message index are
// not hashed, so changing them leaves every hash, root and signature
// intact; verify must still fail, naming the row and the column (a
// "columns" finding per row) or the first seq the index is wrong about
// (one "index" finding, counting the rest). Moving index rows between
// levels changes no lookup and is no failure.
func TestVerifyColumnsAndIndex(t *testing.T) {
	for _, tc := range lookupTampers {
		t.Run(tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			for _, withEvidence := range []bool{false, true} {
				opts := verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}}
				if withEvidence {
					// The evidence pass decodes the leaves on another path
					// (pipeline.go); the fixture's objects are all missing.
					store, err := folder.Open(t.TempDir(), evidence.Options{})
					if err != nil {
						t.Fatal(err)
					}
					opts.Evidence, opts.NoDerive = store, true
				}
				rep := f.verify(opts)
				var got []verify.Finding
				for _, fd := range rep.Findings {
					if fd.Check == verify.CheckColumns || fd.Check == verify.CheckIndex {
						got = append(got, fd)
					} else if !withEvidence || fd.Check != verify.CheckEvidence {
						t.Errorf("evidence %v: unexpected finding %s", withEvidence, fd)
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("evidence %v: findings %v, want %d of columns and index", withEvidence, rep.Findings, len(tc.want))
				}
				for i, w := range tc.want {
					g := got[i]
					if g.Check != w.check || g.Seq == nil || *g.Seq != w.seq || !strings.Contains(g.Message, w.message) {
						t.Errorf("evidence %v: finding %d is %s, want seq %d: %s: …%s…", withEvidence, i, g, w.seq, w.check, w.message)
					}
				}
				if !withEvidence && len(tc.want) > 0 && rep.First().Check != tc.want[0].check {
					t.Errorf("first finding %s, want %s", rep.First(), tc.want[0].check)
				}
			}
		})
	}
}
