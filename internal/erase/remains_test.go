package erase_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestEraseRemains: the erasure names, once each, every place personal
// data of what it erased is left: the analytics listing pages (kept as
// the evidence of the export's scope), the export a recorded diff read,
// and each report to recall by its folder when its entry records one
// ("" when not: a report recorded before the folder was). Before, a
// report was named by its run id alone and neither the listing pages'
// names nor the export were said to remain.
func TestEraseRemains(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	target := free[0]
	m.diffOldExport(t)
	report := func(out string) uint64 {
		t.Helper()
		raw, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{}, LedgerSize: m.size(t), Operator: "dpo", Out: out})
		if err != nil {
			t.Fatal(err)
		}
		es, err := m.le.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindReport, RunID: fmt.Sprintf("report-%d", m.size(t)), Detail: raw})
		if err != nil {
			t.Fatal(err)
		}
		return es[0].Seq
	}
	withFolder, without := report("/cases/m/report"), report("")

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{target}, Reason: "DSR-9", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var listing, export bool
	folders := map[uint64]string{}
	for _, r := range res.Remains {
		key := fmt.Sprint(r.Place, r.Object, r.Seq, r.Folder)
		if seen[key] {
			t.Errorf("named twice: %+v", r)
		}
		seen[key] = true
		switch r.Place {
		case "evidence":
			if strings.Contains(r.Why, "analytics listing page") {
				listing = true
				if !strings.Contains(r.Why, "names and addresses") || !strings.Contains(r.Why, "evidence of the export's scope") {
					t.Errorf("a listing page kept, why: %q", r.Why)
				}
			}
		case "export":
			export = r.Folder != ""
		case leaf.KindReport:
			folders[r.Seq] = r.Folder
			if !strings.Contains(r.Why, "recall or delete") {
				t.Errorf("report %d: %q, want what to do", r.Seq, r.Why)
			}
		}
	}
	if !listing {
		t.Errorf("no listing page among the places left: %+v", res.Remains)
	}
	if !export {
		t.Errorf("the export the diff read is not among the places left: %+v", res.Remains)
	}
	if f, ok := folders[withFolder]; !ok || f != "/cases/m/report" {
		t.Errorf("report %d: folder %q (named %v), want /cases/m/report", withFolder, f, ok)
	}
	if f, ok := folders[without]; !ok || f != "" {
		t.Errorf("report %d, no folder recorded: %q (named %v)", without, f, ok)
	}
}
