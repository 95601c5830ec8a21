package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// TestRecallsReadTheLeaves: the kind column is a lookup aid no hash
// covers. verify --production and --report find the erasure entries that
// recall an output by their leaves: an erasure entry whose kind column
// was changed to hide it still recalls the production and the report,
// and a row whose kind column claims an erasure its leaf is not does not
// stop the report file's check (verify's ledger pass names that row).
func TestRecallsReadTheLeaves(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, key, out := producedMatter(t, dir)
	prod, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
	if err != nil || !prod.InLedger {
		t.Fatalf("the production as produced: %v %+v", err, prod)
	}
	page := []byte("<html>report</html>")
	sum := sha256.Sum256(page)
	rd, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{{Name: "report.html", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(page))}},
		Operator: "u", Root: "00", ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	reportEntry := appendEntry(t, l, leaf.Entry{Kind: leaf.KindReport, RunID: "report-1", Detail: rd})
	ed, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{}, Partial: []string{},
		Erased: []string{}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-7",
		Outputs: []leaf.ErasedOutput{{Seq: prod.ProductionSeq, Kind: leaf.KindProduction, Name: "p", Why: "holds 2 messages erased here"},
			{Seq: reportEntry, Kind: leaf.KindReport, Name: "report-1", Why: "may hold the transcripts of 2 messages erased here"}}})
	if err != nil {
		t.Fatal(err)
	}
	erasure := appendEntry(t, l, leaf.Entry{Kind: leaf.KindErasure, Detail: ed})
	// An entry after the report that is no erasure, for its kind column
	// to claim one.
	md, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{}, Operator: "u", Root: "00", ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	other := appendEntry(t, l, leaf.Entry{Kind: leaf.KindReport, RunID: "report-2", Detail: md})
	if _, err := l.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	path := l.Path()
	tamper := func(stmts ...string) {
		t.Helper()
		l.Close()
		db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		if l, err = ledger.Open(ctx, path, ledger.Options{ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { l.Close() }() // the last one opened
	check := func(what string) {
		t.Helper()
		prod, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
		if err != nil {
			t.Fatalf("production, %s: %v", what, err)
		}
		if !prod.IsRecalled() || len(prod.Recalled) != 1 || prod.Recalled[0].Erasure != erasure {
			t.Errorf("production, %s: recalled %+v; want recalled by erasure entry %d", what, prod.Recalled, erasure)
		}
		m, err := verify.ReportFile(ctx, l, "report.html", bytes.NewReader(page))
		if err != nil {
			t.Fatalf("report file, %s: %v; want the file checked", what, err)
		}
		if !m.Found || m.Seq != reportEntry || !m.IsRecalled() || len(m.Recalled) != 1 || m.Recalled[0].Erasure != erasure {
			t.Errorf("report file, %s: %+v; want report entry %d, recalled by erasure entry %d", what, m, reportEntry, erasure)
		}
	}
	tamper(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET kind = 'message' WHERE seq = `+strconv.FormatUint(erasure, 10))
	check("the erasure entry's kind column made message")
	tamper(`UPDATE entries SET kind = 'erasure' WHERE seq = ` + strconv.FormatUint(other, 10))
	check("and entry " + strconv.FormatUint(other, 10) + "'s made erasure")
}
