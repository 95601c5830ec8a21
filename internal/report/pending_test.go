package report_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestStoppedRunPendingInExceptions: a run stopped (here: the API host
// could not be reached) with conversations it listed still pending. The
// report must say so everywhere an auditor looks: the run's outcome says
// it is incomplete and why it stopped; section 7 lists each pending
// conversation (kind pending) but the one a later run captured, the one
// captured only before the run saying so; section 1 counts them; and the
// certificate, still given (the records captured are true copies), says
// it does not certify that the scope was captured whole. Before, the
// outcome said only "stopped by: …", section 7 was empty and the
// certificate read as for a complete capture.
func TestStoppedRunPendingInExceptions(t *testing.T) {
	ctx := context.Background()
	env := hostileMatter(t, "short")
	const conv = "c0ffee00-0000-4000-8000-000000000001" // the hostile matter's conversation, captured before the run
	const never = "d0000000-0000-4000-8000-00000000000a"
	var captured leaf.Entry
	for e, err := range env.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
		if err != nil {
			t.Fatal(err)
		}
		captured = e
	}
	const stop = "fetch: the API host 127.0.0.1:47002 cannot be reached"
	const id = "run-stopped"
	acct, _ := json.Marshal(map[string]any{"run_id": id, "status": ledger.RunFailed, "conversations_listed": 3, "conversations_exported": 1,
		"conversations_pending": 2, "messages_appended": 5, "failures": []any{}, "stop_reason": stop})
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: json.RawMessage(`{}`), Evidence: "file:///evidence"})
	end, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunEnd, Status: ledger.RunFailed, Accounting: acct})
	err := env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if err := tx.PutRun(ledger.Run{ID: id, Kind: "export", Status: ledger.RunRunning}); err != nil {
			return err
		}
		for _, it := range []ledger.RunItem{{ItemID: "e0000000-0000-4000-8000-00000000000c", Status: ledger.ItemDone},
			{ItemID: conv, Status: ledger.ItemPending}, {ItemID: never, Status: ledger.ItemPending}} {
			it.RunID = id
			if err := tx.PutRunItem(it); err != nil {
				return err
			}
		}
		if _, err := tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: start}); err != nil {
			return err
		}
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
	generate := func() (*report.Result, *report.Doc, map[string]string) {
		t.Helper()
		if _, err := env.Ledger.Checkpoint(ctx, env.Key); err != nil {
			t.Fatal(err)
		}
		res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, res.JSON)
		pending := map[string]string{}
		for _, x := range doc.Exceptions {
			if x.Kind == report.KindPending {
				pending[x.ConversationID] = x.Reason
			}
		}
		return res, doc, pending
	}
	res, doc, pending := generate()
	for _, r := range doc.Runs {
		if r.RunID == id && (!strings.Contains(r.Outcome, "incomplete: 2 of 3 listed conversations not captured") || !strings.Contains(r.Outcome, "stopped by: "+stop)) {
			t.Errorf("the stopped run's outcome %q: want both that it is incomplete and why it stopped", r.Outcome)
		}
	}
	if len(pending) != 2 || !strings.Contains(pending[never], id) || !strings.Contains(pending[conv], "older than the run") {
		t.Errorf("section 7's pending conversations: %v; want %s, and %s (captured only before the run)", pending, never, conv)
	}
	if doc.Summary.NotCaptured != 2 {
		t.Errorf("section 1 counts %d conversations not captured, want 2", doc.Summary.NotCaptured)
	}
	if !res.Verified || doc.Certificate.Withheld || !strings.Contains(doc.Certificate.Statement, "are true copies") ||
		!strings.Contains(doc.Certificate.Statement, "not that every conversation in the scope the runs were given was captured: 2 conversations") {
		t.Errorf("certificate (withheld %v): %s; want it given, saying the scope was not captured whole", doc.Certificate.Withheld, doc.Certificate.Statement)
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	_, section7, _ := strings.Cut(html, `<section id="exceptions">`)
	section7, _, _ = strings.Cut(section7, "</section>")
	if strings.Count(section7, `<code class="kind">pending</code>`) != 2 || !strings.Contains(section7, never) {
		t.Error("report.html's section 7 does not list the pending conversations")
	}
	if !strings.Contains(html, `id="n-not-captured" data-n="2"`) || !strings.Contains(html, `id="not-captured-note"`) {
		t.Error("report.html's section 1 does not say the scope is not captured whole")
	}

	// A later run (a resume, a refetch, another export) captures one:
	// it is pending no more.
	err = env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindConversation, ConversationID: conv, RunID: "refetch-later",
			EvidenceSHA256: captured.EvidenceSHA256, Detail: captured.Detail, Source: captured.Source, Compliance: captured.Compliance, PayloadSHA256: captured.PayloadSHA256})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, doc, pending = generate(); len(pending) != 1 || pending[never] == "" || doc.Summary.NotCaptured != 1 ||
		!strings.Contains(doc.Certificate.Statement, "1 conversation that a run listed was not captured") {
		t.Errorf("after a later capture of %s: pending %v, %d not captured, certificate %q (%v); want %s alone", conv, pending, doc.Summary.NotCaptured, doc.Certificate.Statement, doc.Integrity.Verified.Failures, never)
	}
}
