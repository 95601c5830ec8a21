package report_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// runInvocation appends one invocation of run id to the ledger as export
// records it: a start (or resume) entry, then, unless killed, an end
// entry with the accounting of the whole run so far (failures), the
// run's state updated in the same transactions.
func runInvocation(t *testing.T, l *ledger.Ledger, id string, resume bool, failures []map[string]any, killed bool, items ...ledger.RunItem) {
	t.Helper()
	ctx := context.Background()
	event := leaf.RunStart
	if resume {
		event = leaf.RunResume
	}
	start, err := leaf.EncodeDetail(&leaf.RunDetail{Event: event, RunKind: "export", Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: json.RawMessage(`{}`), Evidence: "file:///evidence"})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Update(ctx, func(tx *ledger.Tx) error {
		if err := tx.PutRun(ledger.Run{ID: id, Kind: "export", Status: ledger.RunRunning}); err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.PutRunItem(it); err != nil {
				return err
			}
		}
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: start})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if killed {
		return
	}
	acct, _ := json.Marshal(map[string]any{"run_id": id, "resumed": resume, "status": ledger.RunFailed, "conversations_failed": len(failures), "failures": failures})
	end, err := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunEnd, Status: ledger.RunFailed, Accounting: acct})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Update(ctx, func(tx *ledger.Tx) error {
		run, _, err := tx.Run(id)
		if err != nil {
			return err
		}
		run.Status, run.EndedAt, run.Accounting = ledger.RunFailed, run.StartedAt, acct
		if err := tx.PutRun(run); err != nil {
			return err
		}
		_, err = tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: end})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRunFailuresLatestAccounting: a run resumed after failures ends once
// per invocation, each end entry with the accounting of the whole run so
// far. Only the last counts, as the run's outcome and export's output
// have it: a conversation that failed in the first invocation and was
// captured by the second is not an exception, one that failed in both is
// listed once, with the latest reason, and a run resumed and killed
// before its end has its failures from its run state alone.
func TestRunFailuresLatestAccounting(t *testing.T) {
	env := hostileMatter(t, "short")
	const captured = "c0ffee00-0000-4000-8000-000000000001" // the hostile matter's conversation
	const twice, killedConv = "d0000000-0000-4000-8000-000000000002", "e0000000-0000-4000-8000-000000000003"
	refused := "legal hold check: fetch: POST /oauth/token: dial tcp 127.0.0.1:9: connect: connection refused"
	runInvocation(t, env.Ledger, "export-A", false, []map[string]any{
		{"conversation_id": captured, "reason": refused},
		{"conversation_id": twice, "reason": refused},
	}, false)
	runInvocation(t, env.Ledger, "export-A", true, []map[string]any{
		{"conversation_id": twice, "reason": "bulk messages: 500 Internal Server Error"},
	}, false)
	runInvocation(t, env.Ledger, "export-B", false, []map[string]any{
		{"conversation_id": killedConv, "reason": refused},
	}, false)
	runInvocation(t, env.Ledger, "export-B", true, nil, true,
		ledger.RunItem{RunID: "export-B", ItemID: killedConv, Status: ledger.ItemFailed, Reason: "audit query: 503"})

	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	var got []report.Exception
	for _, e := range doc.Exceptions {
		if e.Kind == "failed" {
			got = append(got, e)
		}
	}
	want := []report.Exception{
		{Kind: "failed", ConversationID: twice, Reason: "bulk messages: 500 Internal Server Error"},
		{Kind: "failed", ConversationID: killedConv, Reason: "audit query: 503 (run export-B, not ended)"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("failed exceptions:\n got %+v\nwant %+v", got, want)
	}
}

// TestRunFailureCapturedLater: a conversation one run failed and a later
// run captured (a refetch, a second export) is no longer an exception:
// the capture after the failing run's end supersedes it, as a later
// invocation of the same run does. One that failed after its capture
// (a run that tried again and failed) still is. Before, every run's
// failures were listed whatever came after.
func TestRunFailureCapturedLater(t *testing.T) {
	env := hostileMatter(t, "short")
	const conv = "c0ffee00-0000-4000-8000-000000000001" // the hostile matter's conversation
	ctx := context.Background()
	var captured leaf.Entry
	for e, err := range env.Ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == leaf.KindConversation {
			captured = e
		}
	}
	if captured.Kind == "" {
		t.Fatal("the hostile matter has no conversation entry")
	}
	refused := "bulk messages: 503 Service Unavailable"
	runInvocation(t, env.Ledger, "export-C", false, []map[string]any{{"conversation_id": conv, "reason": refused}}, false)
	failed := func() []report.Exception {
		t.Helper()
		res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
		if err != nil {
			t.Fatal(err)
		}
		var got []report.Exception
		for _, e := range readDoc(t, res.JSON).Exceptions {
			if e.Kind == "failed" {
				got = append(got, e)
			}
		}
		return got
	}
	// Failed after its capture: listed.
	if got := failed(); len(got) != 1 || got[0].ConversationID != conv {
		t.Fatalf("a failure after the capture: %+v, want it listed", got)
	}
	// Captured again by a later run: not listed.
	err := env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindConversation, ConversationID: conv, RunID: "refetch-D",
			EvidenceSHA256: captured.EvidenceSHA256, Detail: captured.Detail})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := failed(); len(got) != 0 {
		t.Errorf("a failure a later run's capture superseded is listed: %+v", got)
	}
}
