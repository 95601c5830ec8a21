package erase_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
)

// TestExportErasedAgain: an export naming only erased conversations
// captures none, counts them erased, not exported, and stores nothing
// (no deletion-protection answer that no entry would reference).
func TestExportErasedAgain(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	ids := free[:2]
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{
		Conversations: ids, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	c, err := fetch.New(fetch.Config{ClientID: m.srv.ClientID, ClientSecret: m.srv.ClientSecret, APIURL: m.srv.APIURL,
		LoginURL: m.srv.LoginURL, Rate: 1e9, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: m.le.Ledger, Evidence: m.le.Store}, export.Options{
		Scope: export.Scope{Matter: "m", IDs: ids, MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Listed != 2 || acct.Erased != 2 || acct.Exported != 0 || acct.Invocation.ConversationsCaptured != 0 || !acct.Complete() {
		t.Errorf("accounting: listed %d, erased %d, exported %d, captured %d, complete %v",
			acct.Listed, acct.Erased, acct.Exported, acct.Invocation.ConversationsCaptured, acct.Complete())
	}
	if v := m.verify(t); !v.OK || v.Evidence.Unreferenced != 0 || v.Evidence.Missing != 0 {
		t.Errorf("verify --evidence: %+v %v", v.Evidence, v.Findings)
	}
}
