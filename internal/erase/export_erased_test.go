package erase_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
)

// TestExportCountsErasedInPart: the next export counts the conversations
// an erasure took apart by how: one erased whole, and two of which one
// message each was erased, whose other messages stay in the ledger but
// whose new messages are never captured (ErasedInPart), where it counted
// all three as "erased" alike.
func TestExportCountsErasedInPart(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: free[:1], Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	msgs := []string{messagesOf(t, m, free[1])[0], messagesOf(t, m, free[2])[0]}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: msgs, Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	acct := m.export(t)
	if acct.Erased != 3 || acct.ErasedInPart != 2 {
		t.Errorf("erased %d, in part %d; want 3, 2 (one whole)", acct.Erased, acct.ErasedInPart)
	}
}
