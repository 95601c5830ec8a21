package erase_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestEraseRecallCountsReportText: one message of a conversation is
// erased, a report is written (the conversation's other messages in it
// body_erased, without text), then the rest of the conversation is
// erased. The report is still named to recall (it lists the
// conversation's participants), but as holding no transcript, where it
// was said to hold the transcripts of every other message. A report
// written before the first erasure still holds them all, and says so.
func TestEraseRecallCountsReportText(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	conv := free[0]
	var ids []string
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.MessageID)
	}
	gen := func() string {
		rep, err := report.Generate(ctx, m.le.Ledger, m.le.Store, report.Options{Out: filepath.Join(t.TempDir(), "report"),
			Proofs: report.ProofsNone, SignerKey: m.le.Key, Operator: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		return rep.RunID
	}
	before := gen()
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: ids[:1], Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || len(res.Detail.Collateral) != len(ids)-1 {
		t.Fatalf("erase one message: %+v %v, want the %d others collateral", res, err, len(ids)-1)
	}
	after := gen()
	res, err = erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-10", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	why := map[string]string{}
	for _, o := range res.Detail.Outputs {
		if o.Kind == leaf.KindReport {
			why[o.Name] = o.Why
		}
	}
	if w := why[before]; !strings.Contains(w, "may hold the transcripts of") {
		t.Errorf("the report written before any erasure: %q, want its transcripts named", w)
	}
	if w, ok := why[after]; !ok || strings.Contains(w, "transcripts of") || !strings.Contains(w, "no transcript") {
		t.Errorf("the report written after the first erasure: %q (named %v), want it named for the participants only", w, ok)
	}
}
