package reconcile

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/ledger"
)

// LedgerIndex is the diff's view of what custody captured: the latest
// capture of every message in the ledger.
type LedgerIndex struct {
	L *ledger.Ledger
	// Matter, when set, limits the index to entries of that matter.
	Matter string
}

// messageDetail is the part of a message entry's detail the diff compares
// (written by internal/export).
type messageDetail struct {
	ContentSHA256 string `json:"content_sha256"`
	From          string `json:"from"`
}

// captured reduces a message entry to what the diff compares.
func captured(e ledger.Entry) (diff.Captured, error) {
	var d messageDetail
	if len(e.Detail) > 0 {
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			return diff.Captured{}, fmt.Errorf("reconcile: entry %d: detail: %w", e.Seq, err)
		}
	}
	c := diff.Captured{
		ConversationID: e.ConversationID, MessageID: e.MessageID,
		ContentSHA256: d.ContentSHA256, Sender: d.From, Seq: e.Seq,
	}
	if comp := e.Compliance; comp != nil {
		c.Timestamp = comp.OriginalTimestamp
		if t, _, err := diff.ParseTimestamp(comp.OriginalTimestamp); err == nil {
			c.Timestamp = diff.FormatMillis(t)
		}
		c.LegalHold = comp.LegalHold
		c.AuditRefs = comp.AuditRefs
	}
	return c, nil
}

// Lookup implements diff.Index.
func (x *LedgerIndex) Lookup(ctx context.Context, convID, msgID string) (diff.Captured, bool, error) {
	e, ok, err := x.L.LatestCapture(ctx, msgID)
	if err != nil || !ok || (x.Matter != "" && e.Matter != x.Matter) {
		return diff.Captured{}, false, err
	}
	if convID != "" && e.ConversationID != convID {
		// The same message id under another conversation is not this
		// message: the export names a conversation custody did not
		// capture it in.
		return diff.Captured{}, false, nil
	}
	c, err := captured(e)
	return c, err == nil, err
}

// Each implements diff.Index: every message's latest capture, in ledger
// order. A first pass collects the captures that were superseded (few:
// only messages that changed at the source), the second yields the rest.
func (x *LedgerIndex) Each(ctx context.Context, fn func(diff.Captured) error) error {
	superseded := map[uint64]bool{}
	for e, err := range x.L.Entries(ctx, ledger.Filter{Kind: ledger.KindMessage}) {
		if err != nil {
			return err
		}
		if e.Supersedes != nil {
			superseded[*e.Supersedes] = true
		}
	}
	for e, err := range x.L.Entries(ctx, ledger.Filter{Kind: ledger.KindMessage}) {
		if err != nil {
			return err
		}
		if superseded[e.Seq] || (x.Matter != "" && e.Matter != x.Matter) {
			continue
		}
		c, err := captured(e)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// Conversation implements diff.ConversationIndex: one query per
// conversation instead of one per message.
func (x *LedgerIndex) Conversation(ctx context.Context, convID string) ([]diff.Captured, error) {
	entries, err := x.L.EntriesByConversation(ctx, convID)
	if err != nil {
		return nil, err
	}
	latest := map[string]int{} // message id → index in out
	var out []diff.Captured
	for _, e := range entries { // in seq order: a later capture replaces an earlier one
		if e.Kind != ledger.KindMessage || (x.Matter != "" && e.Matter != x.Matter) {
			continue
		}
		c, err := captured(e)
		if err != nil {
			return nil, err
		}
		if i, ok := latest[e.MessageID]; ok {
			out[i] = c
			continue
		}
		latest[e.MessageID] = len(out)
		out = append(out, c)
	}
	return out, nil
}

var _ diff.ConversationIndex = (*LedgerIndex)(nil)
