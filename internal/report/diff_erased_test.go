package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
)

// TestReportDiffWithErased: a recorded diff holding an erased finding (an
// exported message the ledger erased since, its content and sender not
// compared) makes a report that is valid against the schema: the
// findings sections list what the export did, and the erased message
// is shown erased in its transcript, not counted as a finding there.
func TestReportDiffWithErased(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	var conv, msg string
	for e, err := range le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		conv, msg = e.ConversationID, e.MessageID
		break
	}
	if _, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Messages: []string{msg}, Reason: "DSR-5", Operator: "dpo", SignerKey: le.Key, OverrideHold: "test"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	line := `{"conversation_id":"` + conv + `","message_id":"` + msg + `","sender":"+0000"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "x.jsonl"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var erased, all int
	res, err := reconcile.Diff(ctx, le.Ledger, le.Store, src, reconcile.DiffOptions{SignerKey: le.Key, Emit: func(f diff.Finding) error {
		all++
		if f.Kind == finding.Erased {
			erased++
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if erased != 1 || res.Summary.Counts[finding.Erased] != 1 {
		t.Fatalf("diff: %d erased findings, counts %v; want 1", erased, res.Summary.Counts)
	}
	rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), SignerKey: le.Key, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, rr.JSON) // schema-validated
	for _, k := range doc.Findings {
		if k.Kind == string(finding.Erased) {
			t.Errorf("the report's findings list the ledger's erased kind: %+v", k)
		}
	}
	if doc.Diff == nil || doc.Diff.Counts[string(finding.Erased)] != 0 {
		t.Fatalf("diff counts %+v: erased is not the export's finding", doc.Diff)
	}
	// Said beside the total, so the diff's own count is accounted for
	// (its run says one more finding than section 4 counts).
	if doc.Diff.ErasedNotCompared != 1 || doc.Diff.Findings+doc.Diff.ErasedNotCompared != all {
		t.Errorf("section 4: %d findings and %d erased not compared; the diff recorded %d", doc.Diff.Findings, doc.Diff.ErasedNotCompared, all)
	}
	html, err := os.ReadFile(rr.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `id="n-erased-not-compared" data-n="1"`) {
		t.Error("report.html does not say the diff's erased row beside the total")
	}
}
