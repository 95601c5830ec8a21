package export

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
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
// built from. It is filled once per invocation, from the run's start
// (queryAudits), and every capture waits for it: one audit query (a few
// requests) serves the whole run instead of one query per conversation.
type auditIndex struct {
	loaded   bool
	byConv   derive.AuditIndex
	evidence []string // the pages' evidence, in order: what a conversation's refs are drawn from
	entries  []auditEntry
}

// auditEntry is what accountAudits needs of an entry: the ids it names
// (derive.AuditSubjects) and its entity type.
type auditEntry struct {
	entityType string
	subjects   []string
}

// refs returns the audit refs of convID and the evidence they come from;
// ok is false before the audit trail is loaded, when they are unknown.
func (a *auditIndex) refs(convID string) (refs, evidence []string, ok bool) {
	if a == nil || !a.loaded {
		return nil, nil, false
	}
	return a.byConv.Refs(convID), a.evidence, true
}

// maxAuditAttempts bounds the audit queries of one invocation: the first,
// and one more after a failure that is not a refusal (a query that
// ended Failed or was not done within auditPollTimeout, a refused cursor,
// an error the client's own retries did not overcome). Every capture needs
// the index, so past them the run stops rather than fail its
// conversations one by one, batch after batch.
const maxAuditAttempts = 2

// auditPollTimeout bounds the wait for an audit query to succeed (the
// client's PollTimeout, an hour, is an analytics job's): every capture
// waits for it, and a call's retries are bounded at 10 minutes too.
const auditPollTimeout = 10 * time.Minute

// auditPermission is what the OAuth client needs for the audit query.
const auditPermission = "audits:audit:view"

// queryAudits loads the audit index (loadAudits), trying the query again
// once if it failed, and returns the error that ends the run when it
// could not be had: no conversation can be captured without it.
func (r *runner) queryAudits(ctx, final context.Context) error {
	var err error
	for attempt := 1; attempt <= maxAuditAttempts; attempt++ {
		err = r.loadAudits(ctx, final)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if errors.Is(err, fetch.ErrForbidden) || errors.Is(err, fetch.ErrUnauthorized) {
			return fmt.Errorf("export: the audit query was refused, so no conversation can be captured (each capture records the audit entries that concern it); "+
				"give the OAuth client the permission %s, then rerun: the run resumes, nothing was captured by this invocation: %w", auditPermission, err)
		}
		if isFatal(ctx, err) {
			return err // a long rate limit, no token, the API unreachable: said as such
		}
		if attempt < maxAuditAttempts {
			r.o.Log.Warn("export: the audit query failed; running it once more (every capture waits for it)", "error", err.Error())
		}
	}
	return fmt.Errorf("export: the audit query failed %d times, so no conversation can be captured (each capture records the audit entries that concern it); rerun later: the run resumes, nothing was captured by this invocation: %w", maxAuditAttempts, err)
}

// auditNeed decides when the audit query's failure stops the run: once
// the run has a conversation to capture (each capture records the audit
// entries that concern it), and not before. A run that has none (an
// empty interval, a resumed run already complete) needs no audit
// references, so its query is neither waited for nor a reason to fail.
type auditNeed struct {
	mu     sync.Mutex
	wanted bool        // the run has a conversation to capture
	err    error       // the query's failure, once known
	stop   func(error) // stops the listing and the captures
}

// need records that the run has a conversation to capture; if the query
// failed already, the run stops now.
func (a *auditNeed) need() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.wanted {
		a.wanted = true
		if a.err != nil {
			a.stop(a.err)
		}
	}
}

// failed records the query's failure; it stops the run if the run has a
// conversation to capture.
func (a *auditNeed) failed(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
	if a.wanted {
		a.stop(err)
	}
}

// needed reports whether the run has had a conversation to capture.
func (a *auditNeed) needed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wanted
}

// needAuditsForPending tells auditsNeed when a resumed run has a
// conversation to capture from before (pending, or failed and tried
// again): the listing, if it goes on, may add none.
func (r *runner) needAuditsForPending(ctx context.Context) error {
	if !r.acct.Resumed {
		return nil
	}
	for _, status := range []string{ledger.ItemPending, ledger.ItemFailed} {
		items, err := r.d.Ledger.RunItems(ctx, r.runID, status)
		if err != nil {
			return err
		}
		for _, it := range items {
			if r.toCapture(it.ItemID) {
				r.auditsNeed.need()
				return nil
			}
		}
	}
	return nil
}

// toCapture reports whether a pending conversation id is one the run
// reads (and so needs the audit index for): not an unusable id, nor a
// conversation erased (checkHolds sends both straight to captureOne).
func (r *runner) toCapture(id string) bool {
	return ValidID(id) && !r.erased.Touched(id)
}

// auditSpill is how many bytes of result pages loadAudits keeps in
// memory before storing them as evidence: past it, a query that fails
// later leaves those objects unreferenced (verify warns of them).
const auditSpill = 64 << 20

// loadAudits runs the audit query for deletion-protection changes, keeps
// each result page as evidence with an "audit" entry, and indexes entries
// by the conversation they concern. The entries are appended together,
// once every page is read: a query that fails on a page leaves nothing in
// the ledger, and the query run again records its pages once.
func (r *runner) loadAudits(ctx, final context.Context) error {
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
	req := genesys.AuditQueryRequest{Interval: interval, ServiceName: r.o.AuditServiceName}
	var entries []leaf.Entry
	var held [][]byte // bodies of entries[len(entries)-len(held):], not stored yet
	size := 0
	store := func(ctx context.Context) error {
		for i, body := range held {
			ref, err := r.put(ctx, body)
			if err != nil {
				return err
			}
			entries[len(entries)-len(held)+i].EvidenceSHA256 = ref.Sum
			idx.evidence = append(idx.evidence, ref.Sum.String())
		}
		held, size = held[:0], 0
		return nil
	}
	for p, err := range r.d.Client.ListAudits(ctx, req, fetch.ListOptions{PageSize: genesys.MaxAuditPageSize, PollTimeout: auditPollTimeout}) {
		if err != nil {
			return fmt.Errorf("audit query: %w", err)
		}
		idx.byConv.Add(p.Page)
		for _, m := range p.Page.Entities {
			idx.entries = append(idx.entries, auditEntry{entityType: m.EntityType, subjects: derive.AuditSubjects(m)})
		}
		detail, err := leaf.EncodeDetail(&leaf.AuditDetail{Page: len(entries) + 1, Interval: interval, ServiceName: req.ServiceName, Entries: derive.Audit(p.Page)})
		if err != nil {
			return err
		}
		entries = append(entries, leaf.Entry{Kind: leaf.KindAudit, Matter: r.o.Scope.Matter, RunID: r.runID,
			Source: source(p.Response), Detail: detail})
		held = append(held, p.Response.Body)
		if size += len(p.Response.Body); size > auditSpill {
			if err := store(ctx); err != nil {
				return err
			}
		}
	}
	// Every page is read: the last ones are stored and all recorded
	// together under final, the run's own context, even if the run stops
	// the query now (a run with nothing to capture does), so that no
	// stored page is left without its entry; Ctrl-C still stops them (a
	// run that stopped may leave pages no entry names, and verify says
	// so). Both are bounded: at most auditSpill bytes, one commit.
	ctx = final
	if err := store(ctx); err != nil {
		return err
	}
	err := r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		for _, e := range entries {
			if _, err := tx.Append(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	idx.loaded = true
	r.audits.Store(idx)
	return nil
}

// accountAudits counts the entries of this invocation's audit query and
// those that name none of the run's conversations (runConvs) — not as
// their entity, nor in entityChanges, nor in context — and says so: their
// ids are in no conversation's audit_refs. An org-wide query returns
// entries about conversations outside the run too (entity type
// Conversation: logged at info); an entry about something else, e.g. a
// recording, whose conversation it does not name, may concern one of the
// run's conversations without custody being able to tell (a warning).
func (r *runner) accountAudits(runConvs map[string]bool) {
	a := r.audits.Load()
	if a == nil || !a.loaded {
		return
	}
	acct := r.acct
	acct.AuditEntries, acct.AuditUnmatched, acct.AuditUnmatchedTypes = len(a.entries), 0, nil
	others := 0 // unmatched entries about something other than a conversation
	for _, e := range a.entries {
		if slices.ContainsFunc(e.subjects, func(id string) bool { return runConvs[id] }) {
			continue
		}
		acct.AuditUnmatched++
		if acct.AuditUnmatchedTypes == nil {
			acct.AuditUnmatchedTypes = map[string]int{}
		}
		typ := e.entityType
		if typ == "" {
			typ = "(none)"
		}
		acct.AuditUnmatchedTypes[typ]++
		if e.entityType != "Conversation" {
			others++
		}
	}
	switch {
	case others > 0:
		r.o.Log.Warn("export: audit entries name none of this run's conversations: entries about another entity (a recording) that do not name its conversation are in no conversation's audit_refs, though they may concern one of this run's",
			"audit_entries", acct.AuditEntries, "unmatched", acct.AuditUnmatched, "not_about_a_conversation", others, "by_entity_type", typeCounts(acct.AuditUnmatchedTypes))
	case acct.AuditUnmatched > 0:
		r.o.Log.Info("export: audit entries about conversations outside this run",
			"audit_entries", acct.AuditEntries, "unmatched", acct.AuditUnmatched)
	}
}

// typeCounts spells counts by entity type in key order: "Conversation 2, Recording 3".
func typeCounts(m map[string]int) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}
