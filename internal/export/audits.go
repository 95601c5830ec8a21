package export

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

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
// concern them. It is filled once per invocation, on the first batch that
// holds a protected conversation: one audit query (a few requests) serves
// the whole run instead of one query per conversation.
type auditIndex struct {
	mu     sync.Mutex
	loaded bool
	byConv map[string][]string
}

func (a *auditIndex) refs(convID string) []string {
	if a == nil {
		return []string{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.byConv[convID]; len(r) > 0 {
		return r
	}
	return []string{}
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
		end := r.o.Now().UTC().Add(time.Minute)
		start := end.AddDate(0, 0, -30)
		if r.o.Scope.Interval != "" {
			if _, s, _, err := ParseInterval(r.o.Scope.Interval); err == nil && s.Before(start) {
				start = s
			}
		}
		interval = start.Format(genesys.TimeLayout) + "/" + end.Format(genesys.TimeLayout)
	}
	idx := &auditIndex{byConv: map[string][]string{}}
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
		for _, m := range p.Page.Entities {
			for _, id := range auditSubjects(m) {
				idx.byConv[id] = append(idx.byConv[id], m.ID)
			}
		}
		detail, err := leaf.EncodeDetail(&leaf.AuditDetail{Page: page, Interval: interval, ServiceName: req.ServiceName, Entries: len(p.Page.Entities)})
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
	for id := range idx.byConv {
		sort.Strings(idx.byConv[id])
	}
	idx.loaded = true
	r.audits.Store(idx)
	return nil
}

// auditSubjects returns the conversation ids an audit entry concerns.
func auditSubjects(m genesys.AuditLogMessage) []string {
	var ids []string
	if m.Entity != nil && m.Entity.ID != "" {
		ids = append(ids, m.Entity.ID)
	}
	for _, c := range m.EntityChanges {
		if c.EntityID != "" && (m.Entity == nil || c.EntityID != m.Entity.ID) {
			ids = append(ids, c.EntityID)
		}
	}
	return ids
}
