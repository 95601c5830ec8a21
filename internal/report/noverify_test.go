package report_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestNoVerifyNeverReadsVerified: a report written with --no-verify over
// a tampered ledger — an entry's leaf edited, its leaf and leaf hash, or
// an entry past the last checkpoint rewritten whole (leaf, leaf hash and
// chain link: only a checkpoint would show it) — is never a document that
// reads as verified, and is never recorded: no entry is appended and no
// checkpoint signed (one would vouch for the rewritten entry, and a
// recorded report is one verify --report confirms as custody's), though
// a signer key is given. Page 1 says NOT VERIFIED before any count,
// section 6 says NOT VERIFIED, report.json starts with "not_verified":
// true, and the certificate is withheld. Before, each was recorded at a
// new seq, the rewritten tail signed over, and report.json said nothing
// but "ok": false.
func TestNoVerifyNeverReadsVerified(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB, last uint64)
	}{
		{"leaf", func(t *testing.T, db *sql.DB, _ uint64) {
			edit(t, db, 1, false, false)
		}},
		{"leaf and hash", func(t *testing.T, db *sql.DB, _ uint64) {
			edit(t, db, 1, true, false)
		}},
		{"tail rewritten whole", func(t *testing.T, db *sql.DB, last uint64) {
			edit(t, db, last, true, true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := hostileMatter(t, "short")
			// An entry past the last checkpoint, for the tail case.
			start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Operator: "m00", Host: "host", Tool: "custody", ToolVersion: "test",
				Scope: []byte(`{"interval":"2024-03-01T00:00:00.000Z/2024-04-01T00:00:00.000Z"}`)})
			out, err := env.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "run-tail", Detail: start})
			if err != nil {
				t.Fatal(err)
			}
			last := out[0].Seq
			cps, err := env.Ledger.Checkpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(env.Dir, "custody.db")
			env.Ledger.Close()
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`DROP TRIGGER entries_append_only_update`); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, db, last)
			db.Close()
			l, err := ledger.Open(ctx, path, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			res, err := report.Generate(ctx, l, env.Store, report.Options{Out: filepath.Join(t.TempDir(), "rep"), SignerKey: env.Key, NoVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			h, err := l.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			after, err := l.Checkpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Seq != nil || h.Size != last+1 || len(after) != len(cps) {
				t.Errorf("recorded at %v: %d entries (had %d), %d checkpoints (had %d); want nothing appended or signed", res.Seq, h.Size, last+1, len(after), len(cps))
			}
			if res.Verified {
				t.Error("the result says verified")
			}
			raw, err := os.ReadFile(res.JSON)
			if err != nil {
				t.Fatal(err)
			}
			if nv, gen := bytes.Index(raw, []byte(`"not_verified": true`)), bytes.Index(raw, []byte(`"generated_at"`)); nv < 0 || gen < 0 || nv > gen {
				t.Errorf("report.json does not start by saying it is not verified: %.120s", raw)
			}
			doc := readDoc(t, res.JSON)
			if !doc.NotVerified || doc.Integrity.Verified.OK || !doc.Certificate.Withheld || strings.Contains(doc.Certificate.Statement, "are true copies") {
				t.Errorf("not_verified %v, verified ok %v, certificate withheld %v: %s", doc.NotVerified, doc.Integrity.Verified.OK, doc.Certificate.Withheld, doc.Certificate.Statement)
			}
			b, err := os.ReadFile(res.HTML)
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			alert, counts := strings.Index(page, `id="verification-alert"`), strings.Index(page, `id="n-conversations"`)
			if alert < 0 || counts < 0 || alert > counts || !strings.Contains(page[alert:counts], "NOT VERIFIED") || !strings.Contains(page[alert:counts], "not recorded") {
				t.Errorf("page 1 does not say NOT VERIFIED, not recorded, before its counts (alert at %d, counts at %d)", alert, counts)
			}
			row := page[strings.Index(page, "Verification when written"):]
			row = row[:strings.Index(row, "</tr>")]
			if !strings.Contains(row, "NOT VERIFIED") || strings.Contains(row, ">OK<") {
				t.Errorf("section 6 says %q", row)
			}
		})
	}
}

// edit changes the message id m00 in entry seq's leaf, and with hash its
// stored leaf hash too, and with chain its chain link (the whole entry
// rewritten, as only a checkpoint can show).
func edit(t *testing.T, db *sql.DB, seq uint64, hash, chain bool) {
	t.Helper()
	var b, prev []byte
	if err := db.QueryRow(`SELECT leaf FROM entries WHERE seq = ?`, seq).Scan(&b); err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte(`"m00"`), []byte(`"m99"`), 1)
	if bytes.Equal(edited, b) {
		t.Fatalf("entry %d names no m00: %s", seq, b)
	}
	if _, err := db.Exec(`UPDATE entries SET leaf = ? WHERE seq = ?`, edited, seq); err != nil {
		t.Fatal(err)
	}
	lh := hashchain.LeafHash(edited)
	if hash {
		if _, err := db.Exec(`UPDATE entries SET leaf_hash = ? WHERE seq = ?`, lh[:], seq); err != nil {
			t.Fatal(err)
		}
	}
	if chain {
		if err := db.QueryRow(`SELECT chain FROM entries WHERE seq = ?`, seq-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
		link := hashchain.ChainLink(hashchain.Hash(prev), lh)
		if _, err := db.Exec(`UPDATE entries SET chain = ? WHERE seq = ?`, link[:], seq); err != nil {
			t.Fatal(err)
		}
	}
}
