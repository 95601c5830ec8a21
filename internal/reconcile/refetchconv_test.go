package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestRefetchNeverCapturedConversation: a conversation custody never
// captured whose only export file is cut short before its first message
// is a conversation-level not_captured gap; refetch captures it (filled),
// or finds it gone at the source (404); the next diff reports the
// messages the cut lost as missing_from_export, and no gap for it.
func TestRefetchNeverCapturedConversation(t *testing.T) {
	start := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	org := sim.NewOrg(sim.OrgConfig{Seed: 5, Conversations: 12, Start: start, End: start.AddDate(0, 0, 5)})
	var convs []*sim.ConvData
	for i := range org.Len() {
		if c, ok := org.Conversation(org.ConversationID(i)); ok && c.MessageType == "whatsapp" && len(c.Messages) > 0 {
			convs = append(convs, c)
		}
	}
	if len(convs) < 2 {
		t.Fatalf("%d WhatsApp conversations: want 2", len(convs))
	}
	kept, gone := convs[0], convs[1]
	srv := simtest.Start(t, sim.Options{Org: org, Faults: "404=" + gone.ID, JobDelay: 10 * time.Millisecond, AuditDelay: 10 * time.Millisecond})
	le := ledgertest.New(t, "m")
	ctx := context.Background()
	dir := filepath.Join(le.Dir, "x")
	for _, c := range []*sim.ConvData{kept, gone} {
		sub := filepath.Join(dir, "conversation_id="+c.ID)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		cut := `{"conversationId":"` + c.ID + `","messagingTranscript":[{"id":"` + c.Messages[0].ID + `","time`
		if err := os.WriteFile(filepath.Join(sub, "r.json"), []byte(cut), 0o644); err != nil {
			t.Fatal(err)
		}
		// Its metadata is whole: an export of nothing but unreadable
		// files would be no export at all.
		if err := os.WriteFile(filepath.Join(sub, "r_metadata.json"), []byte(`{"conversationId":"`+c.ID+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	diffOnce := func() (*reconcile.DiffResult, []diff.Finding) {
		t.Helper()
		src, err := exportfile.NewDirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var got []diff.Finding
		res, err := reconcile.Diff(ctx, le.Ledger, le.Store, src, reconcile.DiffOptions{SignerKey: le.Key, Emit: func(f diff.Finding) error {
			got = append(got, f)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res, got
	}
	first, got := diffOnce()
	for _, c := range []*sim.ConvData{kept, gone} {
		if n := countKind(got, c.ID, finding.NotCaptured, ""); n != 1 {
			t.Errorf("first diff: %d conversation-level not_captured for %s, want 1: %+v", n, c.ID, got)
		}
	}
	_, gaps, err := reconcile.LoadGaps(ctx, le.Ledger, le.Store, first.RunID)
	if err != nil {
		t.Fatal(err)
	}
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: 1e9,
		PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rf, err := reconcile.Refetch(ctx, export.Deps{Client: client, Ledger: le.Ledger, Evidence: le.Store}, gaps, first.RunID,
		export.Options{Scope: export.Scope{Matter: "m"}, SignerKey: le.Key}, reconcile.RefetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{kept.ID: reconcile.Filled, gone.ID: reconcile.GoneAtSource}
	// Every gap has a final outcome (refetch exits 0), so the run it
	// recorded is done, not failed: the 404 answered what was asked.
	if rf.Export == nil || rf.Export.Status != ledger.RunDone || rf.Export.Gone != 1 {
		t.Errorf("refetch run %+v; want done with 1 conversation gone", rf.Export)
	}
	if rf.Gaps != 2 || len(rf.Outcomes) != 2 {
		t.Fatalf("refetch: %d gaps, outcomes %+v; want the 2 conversations", rf.Gaps, rf.Outcomes)
	}
	for _, oc := range rf.Outcomes {
		if oc.MessageID != "" || oc.Finding != string(finding.NotCaptured) || oc.Outcome != want[oc.ConversationID] {
			t.Errorf("outcome %+v, want %s", oc, want[oc.ConversationID])
		}
	}
	// Run again for the same diff: both gaps have final outcomes, so
	// nothing is asked or recorded; they are listed as decided by the
	// first run. --again asks and records anew.
	refetches := func() int {
		n := 0
		for _, err := range le.Ledger.Entries(ctx, ledger.Filter{Kind: "refetch"}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	before := refetches()
	again, err := reconcile.Refetch(ctx, export.Deps{Client: client, Ledger: le.Ledger, Evidence: le.Store}, gaps, first.RunID,
		export.Options{Scope: export.Scope{Matter: "m"}, SignerKey: le.Key}, reconcile.RefetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Export != nil || again.Earlier != 2 || len(again.Outcomes) != 2 || refetches() != before {
		t.Errorf("rerun: export %+v, earlier %d, outcomes %+v, refetch entries %d → %d; want no export, the 2 gaps decided earlier, nothing appended",
			again.Export, again.Earlier, again.Outcomes, before, refetches())
	}
	for _, oc := range again.Outcomes {
		if oc.Outcome != want[oc.ConversationID] || oc.EarlierRun != rf.Export.RunID {
			t.Errorf("rerun outcome %+v, want %s decided by %s", oc, want[oc.ConversationID], rf.Export.RunID)
		}
	}
	forced, err := reconcile.Refetch(ctx, export.Deps{Client: client, Ledger: le.Ledger, Evidence: le.Store}, gaps, first.RunID,
		export.Options{Scope: export.Scope{Matter: "m"}, SignerKey: le.Key}, reconcile.RefetchOptions{Again: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Export == nil || forced.Earlier != 0 || refetches() != before+2 {
		t.Errorf("--again: export %+v, earlier %d, refetch entries %d → %d; want a run recording both gaps anew", forced.Export, forced.Earlier, before, refetches())
	}

	_, got = diffOnce()
	if n := countKind(got, kept.ID, finding.MissingFromExport, "*"); n != len(kept.Messages) {
		t.Errorf("second diff: %d missing_from_export in %s, want its %d messages: %+v", n, kept.ID, len(kept.Messages), got)
	}
	if n := countKind(got, kept.ID, finding.NotCaptured, "*") + countKind(got, kept.ID, finding.FileUnreadable, "") - 1; n != 0 {
		t.Errorf("second diff: %s has gaps left or lost its file_unreadable: %+v", kept.ID, got)
	}
	if n := countKind(got, gone.ID, finding.NotCaptured, ""); n != 1 {
		t.Errorf("second diff: the conversation gone at the source is still one gap (%d): %+v", n, got)
	}
}

// countKind counts the findings of kind in conv whose message id is msg
// ("*": any).
func countKind(fs []diff.Finding, conv string, kind finding.Kind, msg string) int {
	n := 0
	for _, f := range fs {
		if f.ConversationID == conv && f.Kind == kind && (msg == "*" || f.MessageID == msg) {
			n++
		}
	}
	return n
}
