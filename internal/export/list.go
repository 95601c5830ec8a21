package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

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
		var capture bool
		err := r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
			var err error
			if capture, err = r.addItems(tx, r.o.Scope.IDs); err != nil {
				return err
			}
			return tx.SetState(listedKey(r.runID), "ids")
		})
		if err == nil && capture {
			r.auditsNeed.need()
		}
		return err
	}
	q := genesys.AsyncConversationQuery{
		Interval:       r.o.Scope.Interval,
		Order:          "asc",
		OrderBy:        "conversationStart",
		SegmentFilters: fetch.WhatsAppSegmentFilter(r.o.Scope.MessageType),
	}
	page := 0
	var avail time.Time // the earliest dataAvailabilityDate of the pages
	for restarts := 0; ; restarts++ {
		err := r.listOnce(ctx, q, &page, &avail)
		if err == nil {
			break
		}
		if !errors.Is(err, fetch.ErrListingExpired) || restarts >= maxListRestarts {
			return err
		}
		// The cursor or the job expired mid-listing: list again with a new
		// job. Pages already recorded stay; their conversations are run
		// items already, and are not added twice.
		r.o.Log.Warn("export: listing expired at the source, listing again with a new job", "after_pages", page, "error", err.Error())
	}
	if _, _, end, err := ParseInterval(r.o.Scope.Interval); err == nil && !avail.IsZero() && avail.Before(end) {
		// Analytics has data only up to avail: conversations that started
		// after it are not listed yet. The listing stays open, so that a
		// rerun lists again and captures them; the run is not complete.
		r.acct.DataAvailableUntil = avail.UTC().Format(time.RFC3339Nano)
		r.o.Log.Warn("export: analytics data is available only up to a date before the interval's end: conversations that started after it are not listed yet; rerun later to capture them",
			"data_available_until", r.acct.DataAvailableUntil, "interval_end", end.Format(time.RFC3339))
		return nil
	}
	return r.d.Ledger.SetState(ctx, listedKey(r.runID), "interval")
}

// maxListRestarts bounds how often an expiring listing is started over.
const maxListRestarts = 3

// listOnce pages through one analytics job, recording each page; *page
// counts pages across restarts, *avail keeps the earliest
// dataAvailabilityDate seen.
func (r *runner) listOnce(ctx context.Context, q genesys.AsyncConversationQuery, page *int, avail *time.Time) error {
	size := r.o.ListPageSize
	if size <= 0 {
		size = listPageSize
	}
	for p, err := range r.d.Client.ListConversations(ctx, q, fetch.ListOptions{PageSize: size}) {
		if err != nil {
			return err
		}
		*page++
		if t, err := time.Parse(time.RFC3339Nano, p.Page.DataAvailabilityDate); err == nil && (avail.IsZero() || t.Before(*avail)) {
			*avail = t
		}
		if err := r.recordListing(ctx, *page, p); err != nil {
			return err
		}
	}
	return nil
}

// recordListing keeps one page of job results as evidence and records its
// conversations as run items, with a "listing" entry, in one transaction.
func (r *runner) recordListing(ctx context.Context, page int, p *fetch.ConversationPage) error {
	ref, err := r.put(ctx, p.Response.Body)
	if err != nil {
		return err
	}
	// An id that is no usable conversation id (a path, a control
	// character, too long: hostile or broken) is never requested. It is
	// listed all the same, as a failed item saying why, so the run goes on
	// with the rest and ends incomplete, naming it; it stopped the whole
	// run before, with nothing captured.
	var ids []string
	var bad []ledger.RunItem
	for _, c := range p.Page.Conversations {
		if !ValidID(c.ConversationID) {
			bad = append(bad, unusableItem(r.runID, r.d.Client.Redact(c.ConversationID), r.o.Now()))
			continue
		}
		ids = append(ids, c.ConversationID)
	}
	if len(bad) > 0 {
		r.o.Log.Warn("export: the listing gave unusable conversation ids: recorded as failed, never requested",
			"page", page, "count", len(bad), "first", bad[0].Reason)
	}
	detail, err := leaf.EncodeDetail(&leaf.ListingDetail{Page: page, JobID: r.d.Client.Redact(p.JobID), Conversations: len(ids) + len(bad)})
	if err != nil {
		return err
	}
	var capture bool
	err = r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		var err error
		if capture, err = r.addItems(tx, ids); err != nil {
			return err
		}
		if _, err := putNew(tx, bad); err != nil {
			return err
		}
		_, err = tx.Append(leaf.Entry{
			Kind: leaf.KindListing, Matter: r.o.Scope.Matter, RunID: r.runID,
			EvidenceSHA256: ref.Sum, Source: source(p.Response), Detail: detail,
		})
		return err
	})
	if err == nil && capture {
		r.auditsNeed.need()
	}
	return err
}

// unusableItem is the failed run item recording an unusable listed
// conversation id: its item id is "!unusable:" and 32 hex digits of the
// id's SHA-256 (no usable id starts with '!', so nothing ever requests it,
// and two ids cut alike stay two items), its reason the id quoted (Go
// syntax: control characters and bytes that are not UTF-8 escaped), cut
// to 80 bytes.
func unusableItem(runID, id string, now time.Time) ledger.RunItem {
	sum := sha256.Sum256([]byte(id))
	return ledger.RunItem{RunID: runID, ItemID: unusablePrefix + hex.EncodeToString(sum[:16]), Status: ledger.ItemFailed,
		Reason: fmt.Sprintf("the listing gave an unusable conversation id, %q: never requested", truncate(id, 80)), Attempts: 1, UpdatedAt: now}
}

// addItems inserts ids as pending run items, leaving existing ones alone,
// and reports whether it inserted one to capture. Its caller tells
// auditsNeed once the transaction is committed: the audit query's
// failure then stops the run, and stopped inside the transaction it would
// leave the page's evidence stored and named by no entry.
func (r *runner) addItems(tx *ledger.Tx, ids []string) (capture bool, err error) {
	items := make([]ledger.RunItem, len(ids))
	for i, id := range ids {
		items[i] = ledger.RunItem{RunID: r.runID, ItemID: id, Status: ledger.ItemPending}
	}
	added, err := putNew(tx, items)
	return slices.ContainsFunc(added, func(it ledger.RunItem) bool { return r.toCapture(it.ItemID) }), err
}

// putNew inserts the items their run does not have yet, leaving existing
// ones alone, and returns those it inserted.
func putNew(tx *ledger.Tx, items []ledger.RunItem) ([]ledger.RunItem, error) {
	var added []ledger.RunItem
	for _, it := range items {
		if _, ok, err := tx.RunItem(it.RunID, it.ItemID); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		if err := tx.PutRunItem(it); err != nil {
			return nil, err
		}
		added = append(added, it)
	}
	return added, nil
}

// source turns a response into the ledger's record of the request.
func source(resp *fetch.Response) *leaf.Source {
	return &leaf.Source{Method: resp.Method, Path: resp.Path, Status: resp.Status, CorrelationID: resp.CorrelationID}
}
