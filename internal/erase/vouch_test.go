package erase_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
)

// TestSummarizeErasure: what checkpoint --erasure shows before vouching
// — the entry's reason and operator, what it erased, and which of it
// was under a legal hold then (a matter hold, with its entry and
// reason) with the override's reason — and a later release does not
// hide the hold that was in force. An entry of another kind is refused.
func TestSummarizeErasure(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	heldConv, part := free[0], free[1]
	partMsgs := messagesOf(t, m, part)
	hr, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{heldConv}, Reason: "litigation LGL-9", Operator: "counsel"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{heldConv}, Messages: partMsgs[:1],
		Reason: "DSR-11", Operator: "dpo", OverrideHold: "counsel ticket LGL-10"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{heldConv}, Reason: "settled", Operator: "counsel", Release: true}); err != nil {
		t.Fatal(err)
	}
	s, err := erase.SummarizeErasure(ctx, m.le.Ledger, res.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if s.Reason != "DSR-11" || s.Operator != "dpo" || s.OverrideHold != "counsel ticket LGL-10" ||
		len(s.Conversations) != 1 || s.Conversations[0] != heldConv || len(s.Partial) != 1 || s.Partial[0] != part ||
		s.ObjectsDeleted != len(res.Detail.Erased) || s.ObjectsDeleted == 0 || len(s.Messages) != len(res.Detail.Messages) {
		t.Errorf("summary %+v", s)
	}
	if len(s.Held) != 1 || s.Held[0].Conversation != heldConv || s.Held[0].MatterHold == nil ||
		s.Held[0].MatterHold.Seq != hr.Seq || s.Held[0].MatterHold.Reason != "litigation LGL-9" {
		t.Errorf("held %+v: want %s under the matter hold of entry %d", s.Held, heldConv, hr.Seq)
	}
	if _, err := erase.SummarizeErasure(ctx, m.le.Ledger, hr.Seq); err == nil || !strings.Contains(err.Error(), "not an erasure") {
		t.Errorf("a hold entry summarized as an erasure: %v", err)
	}
}
