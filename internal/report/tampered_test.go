package report_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestTamperedLeafReportWritten: a ledger entry edited in place — its
// leaf alone (the stored leaf hash left as it was), or its leaf and leaf
// hash together — still gets a report, recorded or not: section 6 says
// what failed, the certificate is withheld, and nothing blames a
// concurrent writer, since the ledger's head did not move. Before, report
// wrote nothing and said "the ledger changed while being read" (leaf
// alone) or "the ledger's leaf hashes do not lead to checkpoint N's root"
// (both).
func TestTamperedLeafReportWritten(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		withHash bool
		noRecord bool
	}{{"leaf", false, false}, {"leaf, no record", false, true}, {"leaf and hash", true, false}, {"leaf and hash, no record", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			env := hostileMatter(t, "short")
			path := filepath.Join(env.Dir, "custody.db")
			env.Ledger.Close()
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			const seq = 1 // the conversation's first message
			var leafBytes []byte
			if err := db.QueryRow(`SELECT leaf FROM entries WHERE seq = ?`, seq).Scan(&leafBytes); err != nil {
				t.Fatal(err)
			}
			edited := bytes.Replace(leafBytes, []byte(`"m00"`), []byte(`"m99"`), 1)
			if bytes.Equal(edited, leafBytes) {
				t.Fatalf("entry %d names no m00: %s", seq, leafBytes)
			}
			stmts := []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = ? WHERE seq = ?`}
			args := [][]any{nil, {edited, seq}}
			if tc.withHash {
				lh := hashchain.LeafHash(edited)
				stmts, args = append(stmts, `UPDATE entries SET leaf_hash = ? WHERE seq = ?`), append(args, []any{lh[:], seq})
			}
			for i, q := range stmts {
				if _, err := db.Exec(q, args[i]...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			l, err := ledger.Open(ctx, path, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			res, err := report.Generate(ctx, l, env.Store, report.Options{Out: filepath.Join(t.TempDir(), "rep"), SignerKey: env.Key, NoRecord: tc.noRecord})
			if err != nil {
				t.Fatalf("report of a tampered ledger: %v; want it written, saying what failed", err)
			}
			if res.Verified || (res.Seq == nil) != tc.noRecord {
				t.Errorf("verified %v, recorded at %v; want not verified, recorded unless --no-record", res.Verified, res.Seq)
			}
			doc := readDoc(t, res.JSON)
			if doc.Integrity.Verified.OK || len(doc.Integrity.Verified.Failures) == 0 || !doc.Certificate.Withheld {
				t.Errorf("section 6 ok %v, failures %q, certificate withheld %v; want the failure said and the certificate withheld",
					doc.Integrity.Verified.OK, doc.Integrity.Verified.Failures, doc.Certificate.Withheld)
			}
			b, err := os.ReadFile(res.HTML)
			if err != nil {
				t.Fatal(err)
			}
			if all := string(b) + strings.Join(doc.Integrity.Verified.Failures, "\n") + res.CheckpointRefused; strings.Contains(all, "changed while being read") {
				t.Error("the report blames a concurrent writer for a ledger edited in place")
			}
		})
	}
}
