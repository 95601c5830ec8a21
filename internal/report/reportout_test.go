package report_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestReportRecordsFolder: the report's entry records the folder it was
// written into, as an absolute path though --out was relative, so that
// an erasure of what it holds names the folder to recall rather than
// "folder not recorded".
func TestReportRecordsFolder(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	t.Chdir(t.TempDir())
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join("reports", "r1"), Proofs: report.ProofsNone, SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cwd, "reports", "r1")
	e, err := le.Ledger.Entry(ctx, *rr.Seq)
	if err != nil {
		t.Fatal(err)
	}
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*leaf.ReportDetail).Out; got != want {
		t.Fatalf("the report entry records folder %q, want %q", got, want)
	}
	var conv string
	for e, err := range le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
		if err != nil {
			t.Fatal(err)
		}
		conv = e.ConversationID
		break
	}
	res, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-11", Operator: "dpo", OverrideHold: "test", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, r := range res.Remains {
		named = named || r.Place == leaf.KindReport && r.Seq == *rr.Seq && r.Folder == want
	}
	if !named {
		t.Errorf("the erasure does not name the report's folder to recall: %+v", res.Remains)
	}
}
