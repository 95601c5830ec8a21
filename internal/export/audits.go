package export

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// DefaultAuditServiceName is the audit serviceName queried for the entries
// that applied deletion protection. Which service Genesys files them under
// is not documented (protection is a Quality feature; the SDK's service
// enum has no "Recording"), so it is a flag (--audit-service).
const DefaultAuditServiceName = "Quality"

// auditIndex maps conversation ids to the ids of the audit entries that
// concern them (derive.AuditIndex), with the evidence of the pages it was
// built from. It is filled once per invocation, on the first batch that
// holds a protected conversation: one audit query (a few requests) serves
// the whole run instead of one query per conversation.
type auditIndex struct {
	loaded   bool
	byConv   derive.AuditIndex
	evidence []string // the pages' evidence, in order: what a conversation's refs are drawn from
}

// refs returns the audit refs of convID and the evidence they come from;
// both empty, never nil, before the audit trail is loaded.
func (a *auditIndex) refs(convID string) (refs, evidence []string) {
	if a == nil {
		return []string{}, []string{}
	}
	return a.byConv.Refs(convID), a.evidence
}

// loadAudits runs the audit query for deletion-protection changes, keeps
// each result page as evidence with an "audit" entry, and indexes entries
// by the conversation they concern.
func (r *runner) loadAudits(ctx context.Context) error {
	if a := r.audits.Load(); a != nil && a.loaded {
		return nil
	}
	interval := r.o.AuditInterval
	if interval == "" {
		// A hold comes after its conversation starts: an interval's start
		// bounds it. An id list has none, so the query reaches back as
		// far as Genesys keeps audit data (at least a year).
		end := r.o.Now().UTC().Add(time.Minute)
		start := end.AddDate(0, 0, -30)
		if r.o.Scope.Interval == "" {
			start = end.AddDate(-1, 0, 0)
		} else if _, s, _, err := ParseInterval(r.o.Scope.Interval); err == nil && s.Before(start) {
			start = s
		}
		interval = start.Format(genesys.TimeLayout) + "/" + end.Format(genesys.TimeLayout)
	}
	idx := &auditIndex{byConv: derive.AuditIndex{}, evidence: []string{}}
	page := 0
	req := genesys.AuditQueryRequest{Interval: interval, ServiceName: r.o.AuditServiceName}
	for p, err := range r.d.Client.ListAudits(ctx, req, fetch.ListOptions{PageSize: genesys.MaxAuditPageSize}) {
		if err != nil {
			return fmt.Errorf("audit query: %w", err)
		}
		page++
		ref, err := r.put(ctx, p.Response.Body)
		if err != nil {
			return err
		}
		idx.byConv.Add(p.Page)
		idx.evidence = append(idx.evidence, ref.Sum.String())
		detail, err := leaf.EncodeDetail(&leaf.AuditDetail{Page: page, Interval: interval, ServiceName: req.ServiceName, Entries: derive.Audit(p.Page)})
		if err != nil {
			return err
		}
		err = r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
			_, err := tx.Append(leaf.Entry{Kind: leaf.KindAudit, Matter: r.o.Scope.Matter, RunID: r.runID,
				EvidenceSHA256: ref.Sum, Source: source(p.Response), Detail: detail})
			return err
		})
		if err != nil {
			return err
		}
	}
	idx.loaded = true
	r.audits.Store(idx)
	return nil
}
