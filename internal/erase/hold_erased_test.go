package erase_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// messagesOf are the conversation's captured message ids, in ledger order.
func messagesOf(t *testing.T, m *matter, conv string) []string {
	t.Helper()
	var ids []string
	for e, err := range m.le.Ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.MessageID)
	}
	return ids
}

// TestHoldOnErased: a hold on a conversation an erasure took whole, or
// in part, is recorded, and says what it cannot preserve: the erasure
// entries and their reasons, how many messages (JSON:
// erased_conversations), where it said only "held".
func TestHoldOnErased(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	whole, part, other := free[0], free[1], free[2]
	partMsgs := messagesOf(t, m, part)
	e1, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{whole}, Reason: "DSR-6", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: partMsgs[:1], Reason: "DSR-7", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{other, part, whole}, Reason: "new litigation", Operator: "counsel"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hr.ErasedConversations) != 2 {
		t.Fatalf("erased conversations %+v: want %s and %s", hr.ErasedConversations, part, whole)
	}
	for _, c := range hr.ErasedConversations {
		switch c.Conversation {
		case whole:
			if !c.Whole || len(c.Entries) != 1 || c.Entries[0] != e1.Seq || c.Reasons[0] != "DSR-6" || c.Messages != c.Of || c.Of == 0 {
				t.Errorf("whole: %+v", c)
			}
			if w := c.Warning(); !strings.Contains(w, "erased whole by entry "+itoa(e1.Seq)+` (reason "DSR-6")`) || !strings.Contains(w, "preserves nothing of its content") {
				t.Errorf("whole: warning %q", w)
			}
		case part:
			if c.Whole || len(c.Entries) != 1 || c.Entries[0] != e2.Seq || c.Reasons[0] != "DSR-7" || c.Messages != 1 || c.Of != len(partMsgs) {
				t.Errorf("in part: %+v", c)
			}
			if w := c.Warning(); !strings.Contains(w, "erased in part: 1 of its "+itoa(uint64(len(partMsgs)))+" messages erased by entry "+itoa(e2.Seq)) {
				t.Errorf("in part: warning %q", w)
			}
		default:
			t.Errorf("not erased, listed: %+v", c)
		}
	}
	// A release says nothing of erasures: it preserves nothing either way.
	rr, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{whole}, Reason: "settled", Operator: "counsel", Release: true})
	if err != nil || len(rr.ErasedConversations) != 0 {
		t.Errorf("release: %+v %v", rr, err)
	}
}
