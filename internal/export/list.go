package export

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// listedKey is the state key that marks a run's listing as complete; a
// run resumed before it is set lists again (items are inserted once).
func listedKey(runID string) string { return "export/" + runID + "/listed" }

// list records the run's conversations as pending run items: from the ids
// of the scope, or from an analytics details job over its interval. Every
// page of job results is kept as evidence and recorded by a "listing"
// entry, so the ledger shows what the source said the scope held.
func (r *runner) list(ctx context.Context) error {
	if _, ok, err := r.d.Ledger.State(ctx, listedKey(r.runID)); err != nil || ok {
		return err
	}
	if len(r.o.Scope.IDs) > 0 {
		return r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
			if err := r.addItems(tx, r.o.Scope.IDs); err != nil {
				return err
			}
			return tx.SetState(listedKey(r.runID), "ids")
		})
	}
	q := genesys.AsyncConversationQuery{
		Interval:       r.o.Scope.Interval,
		Order:          "asc",
		OrderBy:        "conversationStart",
		SegmentFilters: fetch.WhatsAppSegmentFilter(r.o.Scope.MessageType),
	}
	page := 0
	for p, err := range r.d.Client.ListConversations(ctx, q, fetch.ListOptions{PageSize: listPageSize}) {
		if err != nil {
			return err
		}
		page++
		if err := r.recordListing(ctx, page, p); err != nil {
			return err
		}
	}
	return r.d.Ledger.SetState(ctx, listedKey(r.runID), "interval")
}

// recordListing keeps one page of job results as evidence and records its
// conversations as run items, with a "listing" entry, in one transaction.
func (r *runner) recordListing(ctx context.Context, page int, p *fetch.ConversationPage) error {
	ref, err := r.put(ctx, p.Response.Body)
	if err != nil {
		return err
	}
	var ids []string
	for _, c := range p.Page.Conversations {
		if !ValidID(c.ConversationID) {
			return fmt.Errorf("export: listing page %d: the API returned an unusable conversation id %q", page, truncate(r.d.Client.Redact(c.ConversationID), 80))
		}
		ids = append(ids, c.ConversationID)
	}
	detail, err := leaf.EncodeDetail(&leaf.ListingDetail{Page: page, JobID: r.d.Client.Redact(p.JobID), Conversations: len(ids)})
	if err != nil {
		return err
	}
	return r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if err := r.addItems(tx, ids); err != nil {
			return err
		}
		_, err := tx.Append(leaf.Entry{
			Kind: leaf.KindListing, Matter: r.o.Scope.Matter, RunID: r.runID,
			EvidenceSHA256: ref.Sum, Source: source(p.Response), Detail: detail,
		})
		return err
	})
}

// addItems inserts ids as pending run items, leaving existing ones alone.
func (r *runner) addItems(tx *ledger.Tx, ids []string) error {
	for _, id := range ids {
		if _, ok, err := tx.RunItem(r.runID, id); err != nil {
			return err
		} else if ok {
			continue
		}
		if err := tx.PutRunItem(ledger.RunItem{RunID: r.runID, ItemID: id, Status: ledger.ItemPending}); err != nil {
			return err
		}
	}
	return nil
}

// source turns a response into the ledger's record of the request.
func source(resp *fetch.Response) *leaf.Source {
	return &leaf.Source{Method: resp.Method, Path: resp.Path, Status: resp.Status, CorrelationID: resp.CorrelationID}
}
