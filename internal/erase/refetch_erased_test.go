package erase_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestRefetchErased: a gap in a conversation erased whole, or in part,
// is not asked about (export does not capture such a conversation
// again): refetch records it erased, naming the erasure entry, where it
// recorded what the ledger held as the source's answer —
// confirmed_at_source for a captured message, not_at_source for one the
// export invented. An erased gap is final; a gap elsewhere is decided
// from the source as before.
func TestRefetchErased(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	whole, part, other := free[0], free[1], free[2]
	msgsOf := func(conv string) []string {
		var ids []string
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.MessageID)
		}
		return ids
	}
	wholeMsgs, partMsgs, otherMsgs := msgsOf(whole), msgsOf(part), msgsOf(other)
	e1, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{whole}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: partMsgs[:1], Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	gaps := []diff.Finding{
		{Kind: finding.MissingFromExport, ConversationID: whole, MessageID: wholeMsgs[0]},
		{Kind: finding.NotCaptured, ConversationID: whole, MessageID: "0123456789abcdef0123456789abcdef"},
		{Kind: finding.MissingFromExport, ConversationID: part, MessageID: partMsgs[0]},
		{Kind: finding.MissingFromExport, ConversationID: part, MessageID: partMsgs[1]},
		{Kind: finding.NotCaptured, ConversationID: part, MessageID: "fedcba9876543210fedcba9876543210"},
		{Kind: finding.MissingFromExport, ConversationID: other, MessageID: otherMsgs[0]},
	}
	client, err := fetch.New(fetch.Config{ClientID: m.srv.ClientID, ClientSecret: m.srv.ClientSecret, APIURL: m.srv.APIURL,
		LoginURL: m.srv.LoginURL, Rate: 1e9, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	size := m.size(t)
	rf, err := reconcile.Refetch(ctx, export.Deps{Client: client, Ledger: m.le.Ledger, Evidence: m.le.Store}, gaps, "",
		export.Options{Scope: export.Scope{Matter: "m", MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: m.le.Key}, reconcile.RefetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ outcome, seq string }{
		{reconcile.Erased, "erasure entry " + itoa(e1.Seq)}, {reconcile.Erased, "erasure entry " + itoa(e1.Seq)},
		{reconcile.Erased, "erasure entry " + itoa(e2.Seq)}, {reconcile.Erased, "erasure entry " + itoa(e2.Seq)},
		{reconcile.Erased, "erasure entry " + itoa(e2.Seq)}, {reconcile.Confirmed, "captured at seq"},
	}
	if len(rf.Outcomes) != len(gaps) {
		t.Fatalf("outcomes %+v", rf.Outcomes)
	}
	for i, oc := range rf.Outcomes {
		if oc.Outcome != want[i].outcome || !strings.Contains(oc.Detail, want[i].seq) {
			t.Errorf("gap %d (%s %s): outcome %s %q, want %s naming %q", i, oc.Finding, oc.MessageID, oc.Outcome, oc.Detail, want[i].outcome, want[i].seq)
		}
	}
	if rf.Retryable() != 0 || rf.Counts[reconcile.Erased] != 5 || rf.Export.Erased != 2 {
		t.Errorf("counts %v, run erased %d: want 5 erased gaps, none to retry, 2 conversations not captured", rf.Counts, rf.Export.Erased)
	}
	// The ledger's refetch entries say the same: none claims an answer
	// from the source for an erased conversation.
	n := 0
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindRefetch, FromSeq: size}) {
		if err != nil {
			t.Fatal(err)
		}
		dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		d := dd.(*leaf.RefetchDetail)
		if (e.ConversationID == whole || e.ConversationID == part) != (d.Outcome == reconcile.Erased) {
			t.Errorf("refetch entry %d: %s %s: %s %q", e.Seq, e.ConversationID, e.MessageID, d.Outcome, d.Reason)
		}
		n++
	}
	if n != len(gaps) {
		t.Errorf("%d refetch entries, want %d", n, len(gaps))
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestRefetchRerunOfSameDiff: a rerun for the same diff takes a gap's
// final outcome from the earlier run (c9195bf) — except in a conversation
// erased since, whose gap is now erased, as the first run would have said
// had the erasure come first; and when a run over every gap's
// conversation is unfinished (a cancelled --again), the rerun resumes it,
// asking about every gap, rather than leave it unfinished beside nothing.
func TestRefetchRerunOfSameDiff(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	keep, gone := free[0], free[1]
	first := func(conv string) string {
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv, Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			return e.MessageID
		}
		t.Fatalf("no message in %s", conv)
		return ""
	}
	gaps := []diff.Finding{
		{Kind: finding.MissingFromExport, ConversationID: keep, MessageID: first(keep)},
		{Kind: finding.MissingFromExport, ConversationID: gone, MessageID: first(gone)},
	}
	client, err := fetch.New(fetch.Config{ClientID: m.srv.ClientID, ClientSecret: m.srv.ClientSecret, APIURL: m.srv.APIURL,
		LoginURL: m.srv.LoginURL, Rate: 1e9, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	opts := export.Options{Scope: export.Scope{Matter: "m", WithMedia: true}, SignerKey: m.le.Key}
	refetch := func(ro reconcile.RefetchOptions) *reconcile.Result {
		t.Helper()
		rf, err := reconcile.Refetch(ctx, export.Deps{Client: client, Ledger: m.le.Ledger, Evidence: m.le.Store}, gaps, "diff-x", opts, ro)
		if err != nil {
			t.Fatal(err)
		}
		return rf
	}
	outcome := func(rf *reconcile.Result, conv string) reconcile.Outcome {
		for _, oc := range rf.Outcomes {
			if oc.ConversationID == conv {
				return oc
			}
		}
		t.Fatalf("no outcome for %s: %+v", conv, rf.Outcomes)
		return reconcile.Outcome{}
	}
	rf := refetch(reconcile.RefetchOptions{})
	if o := outcome(rf, gone); o.Outcome != reconcile.Confirmed {
		t.Fatalf("first run: %+v, want confirmed_at_source", o)
	}
	e, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{gone}, Reason: "DSR-3", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	again := refetch(reconcile.RefetchOptions{})
	if o := outcome(again, gone); o.Outcome != reconcile.Erased || o.EarlierRun != "" || !strings.Contains(o.Detail, "erasure entry "+itoa(e.Seq)) {
		t.Errorf("rerun after the erasure: %+v, want erased now, naming entry %d", o, e.Seq)
	}
	if o := outcome(again, keep); o.Outcome != reconcile.Confirmed || o.EarlierRun != rf.Export.RunID {
		t.Errorf("rerun: %+v, want confirmed_at_source decided by %s", o, rf.Export.RunID)
	}
	// A run over both conversations left unfinished, as a cancelled
	// --again leaves it: the rerun resumes it and decides every gap anew.
	full := opts.Scope
	full.IDs = []string{keep, gone}
	slices.Sort(full.IDs)
	scope, err := json.Marshal(struct {
		Key       string `json:"key"`
		WithMedia bool   `json:"with_media"`
	}{full.Key(), true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.le.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		return tx.PutRun(ledger.Run{ID: "run-cancelled-again", Kind: reconcile.RunKindRefetch, Matter: "m", Scope: scope, Status: ledger.RunCancelled, StartedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	resumed := refetch(reconcile.RefetchOptions{})
	if resumed.Earlier != 0 || resumed.Export == nil || resumed.Export.RunID != "run-cancelled-again" {
		t.Errorf("rerun beside an unfinished run of every gap: earlier %d, run %+v; want run-cancelled-again resumed, no gap taken from earlier", resumed.Earlier, resumed.Export)
	}
}
