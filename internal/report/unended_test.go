package report_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestKilledBeforeListingQualified: an export killed before it listed
// anything leaves a matter of a start entry alone. Its report certified
// "0 conversations and 0 messages" as true copies with no word that the
// run never ended nor listed anything; the certificate now says both.
func TestKilledBeforeListingQualified(t *testing.T) {
	ctx := context.Background()
	env := ledgertest.New(t, "killed early")
	const id = "run-20240301T100000Z-early000"
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: json.RawMessage(`{}`), Evidence: "file:///evidence"})
	err := env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if err := tx.PutRun(ledger.Run{ID: id, Kind: "export", Status: ledger.RunRunning}); err != nil {
			return err
		}
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: start})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Ledger.Checkpoint(ctx, env.Key); err != nil {
		t.Fatal(err)
	}
	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if st := doc.Certificate.Statement; !strings.Contains(st, "did not end") || !strings.Contains(st, id) || !strings.Contains(st, "listed no conversation") {
		t.Errorf("certificate %q: want it to say the run did not end and listed nothing", st)
	}
}
