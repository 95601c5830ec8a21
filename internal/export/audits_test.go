package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// lockedBuffer is a log sink the run's workers share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestExportAuditEntriesNamingRecordings: deletion protection audited
// against the recording (entityType Recording, as the SDK's Quality audit
// enums file ApplyProtection), not the conversation. When the entry names
// its conversation in context, the export ties it to the conversation
// (audit_refs, re-derived by verify); when it names it nowhere, the
// conversation's audit_refs stay empty and the run says so: the entries
// are counted, by entity type, as naming none of its conversations, with
// a warning. Before, the first case recorded no audit_refs and neither
// said a word.
func TestExportAuditEntriesNamingRecordings(t *testing.T) {
	for _, tc := range []struct {
		entity  string
		matched bool
	}{{sim.AuditEntityRecording, true}, {sim.AuditEntityRecordingBare, false}} {
		t.Run(tc.entity, func(t *testing.T) {
			srv := simtest.Start(t, sim.Options{
				OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 40, Start: orgStart, End: orgEnd, LegalHoldShare: 0.4, OtherMediaShare: 0.3, AuditEntity: tc.entity},
				JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
			})
			le := ledgertest.New(t, "matter-1")
			e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
			logs := &lockedBuffer{}
			scope := intervalScope()
			scope.Matter = "matter-1"
			acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
				export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4, Log: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil || !acct.Complete() {
				t.Fatalf("export: %v (accounting %+v)", err, acct)
			}

			// What the org's audit trail holds, and what of it concerns the
			// run's (WhatsApp) conversations.
			inRun := map[string]bool{}
			heldInRun, entriesInRun := 0, 0
			for _, c := range whatsApp(srv.Org) {
				inRun[c.ID] = true
				if len(c.Audits) > 0 {
					heldInRun++
					entriesInRun += len(c.Audits)
				}
			}
			total := 0
			for i := range srv.Org.Len() {
				for _, a := range srv.Org.Audits(i) {
					if a.EntityType != "Recording" || a.Entity.ID == srv.Org.ConversationID(i) {
						t.Fatalf("simulated entry %+v: want one naming the recording", a)
					}
					total++
				}
			}
			if heldInRun == 0 || total == entriesInRun {
				t.Fatalf("the fixture needs held conversations in the run (%d) and out of it (%d entries of %d)", heldInRun, total-entriesInRun, total)
			}

			if tc.matched {
				checkCaptured(t, e) // every message's audit_refs are its conversation's entries
			} else {
				for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage}) {
					if err != nil {
						t.Fatal(err)
					}
					if len(en.Compliance.AuditRefs) != 0 {
						t.Fatalf("message %s: audit_refs %v from entries that name no conversation", en.MessageID, en.Compliance.AuditRefs)
					}
				}
			}

			// The accounting, read as JSON (as --output json prints it).
			raw, err := json.Marshal(acct)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Entries   int            `json:"audit_entries"`
				Unmatched int            `json:"audit_entries_unmatched"`
				ByType    map[string]int `json:"audit_unmatched_entity_types"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			unmatched := total - entriesInRun // about conversations outside the run
			if !tc.matched {
				unmatched = total
			}
			if got.Entries != total || got.Unmatched != unmatched || len(got.ByType) != 1 || got.ByType["Recording"] != unmatched {
				t.Errorf("accounting says %d audit entries, %d unmatched %v; want %d, %d {Recording: %d}", got.Entries, got.Unmatched, got.ByType, total, unmatched, unmatched)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN msg=\"export: audit entries name none of this run's conversations") ||
				!strings.Contains(l, "by_entity_type=\"Recording ") {
				t.Errorf("no warning about the unmatched entries in the log:\n%s", l)
			}

			// verify re-derives the same audit_refs from the stored pages.
			rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK || rep.Derived == nil || rep.Derived.ByKind[leaf.KindConversation] == 0 {
				t.Fatalf("verify: %v, derived %+v", rep.Findings, rep.Derived)
			}
		})
	}
}

// TestExportRevokedHoldAuditRefs: a conversation whose legal hold was
// applied and then revoked is not held, but the audit trail has entries
// about it, which its capture must record, whatever else shares its
// batch and however slow the audit query. Before, a batch with no
// conversation held at the time did not wait for the query, and with a
// query slower than the capture the entries were recorded as none ([]).
func TestExportRevokedHoldAuditRefs(t *testing.T) {
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 40, Start: orgStart, End: orgEnd, LegalHoldShare: 0.4},
		JobDelay:  20 * time.Millisecond, AuditDelay: 400 * time.Millisecond,
	})
	var revoked, plain *sim.ConvData
	for _, c := range whatsApp(srv.Org) {
		switch {
		case c.LegalHold && revoked == nil:
			revoked = c
		case !c.LegalHold && len(c.Audits) == 0 && plain == nil:
			plain = c
		}
	}
	if revoked == nil || plain == nil {
		t.Fatal("the fixture needs a held and an unheld WhatsApp conversation")
	}
	i, _ := srv.Org.Index(revoked.ID)
	srv.Org.SetLegalHold(i, false, orgEnd.Add(48*time.Hour), nil, "")
	var want []string
	for _, a := range srv.Org.Audits(i) {
		want = append(want, a.ID)
	}
	slices.Sort(want)
	if srv.Org.LegalHold(i) || len(want) < 2 {
		t.Fatalf("the revoked hold: held %v, audit entries %v", srv.Org.LegalHold(i), want)
	}

	le := ledgertest.New(t, "matter-1")
	e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	// The org is in 2024: the audit query's interval must reach it.
	auditInterval := orgStart.Format(time.RFC3339) + "/" + orgEnd.AddDate(0, 2, 0).Format(time.RFC3339)
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: export.Scope{Matter: "matter-1", IDs: []string{revoked.ID, plain.ID}}, SignerKey: e.key, Concurrency: 4, AuditInterval: auditInterval})
	if err != nil || !acct.Complete() || acct.Exported != 2 {
		t.Fatalf("export: %v, accounting %+v: want both exported", err, acct)
	}
	for _, tc := range []struct {
		id   string
		refs []string
	}{{revoked.ID, want}, {plain.ID, []string{}}} {
		entries, err := e.ledger.EntriesByConversation(context.Background(), tc.id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			var refs []string
			var held *bool
			switch en.Kind {
			case leaf.KindConversation:
				d, err := leaf.DecodeDetail(leaf.KindConversation, en.Detail)
				if err != nil {
					t.Fatal(err)
				}
				cd := d.(*leaf.ConversationDetail)
				refs, held = cd.AuditRefs, &cd.LegalHold
			case leaf.KindMessage:
				refs, held = en.Compliance.AuditRefs, en.Compliance.LegalHold
			default:
				continue
			}
			n++
			if !slices.Equal(refs, tc.refs) || held == nil || *held {
				t.Errorf("conversation %s, %s entry %d: legal hold %v, audit_refs %v; want false, %v", tc.id, en.Kind, en.Seq, held != nil && *held, refs, tc.refs)
			}
		}
		if n < 2 {
			t.Errorf("conversation %s: %d entries, want its conversation and messages", tc.id, n)
		}
	}
	rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
}

// auditRun exports ids (or, with none, the interval of the org) from srv
// into a fresh ledger, the audit query reaching the whole org.
func auditRun(t *testing.T, srv *sim.Server, ids []string) (*env, *export.Accounting, error) {
	t.Helper()
	le := ledgertest.New(t, "matter-1")
	e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	scope := export.Scope{Matter: "matter-1", IDs: ids}
	if len(ids) == 0 {
		scope = intervalScope()
		scope.Matter = "matter-1"
	}
	auditInterval := orgStart.Format(time.RFC3339) + "/" + orgEnd.AddDate(0, 2, 0).Format(time.RFC3339)
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4, AuditInterval: auditInterval})
	return e, acct, err
}

// routeRequests counts the simulator's requests to the route pattern.
func routeRequests(srv *sim.Server, route string) int64 {
	return srv.Stats().Routes[route].Requests
}

const (
	routeAuditQuery = "POST /api/v2/audits/query"
	routeHolds      = "POST /api/v2/recordings/deletionprotection"
	routeConvRead   = "GET /api/v2/conversations/messages/{conversationId}"
)

// noCaptures fails t if the ledger holds a conversation or message entry.
func noCaptures(t *testing.T, e *env) {
	t.Helper()
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Kind == leaf.KindConversation || en.Kind == leaf.KindMessage {
			t.Fatalf("entry %d (%s of %s) recorded while the audit references are unknown", en.Seq, en.Kind, en.ConversationID)
		}
	}
}

// runStatus is the ledger's status of the run runID.
func runStatus(t *testing.T, e *env, runID string) string {
	t.Helper()
	runs, err := e.ledger.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == runID {
			return r.Status
		}
	}
	t.Fatalf("run %s not in the ledger", runID)
	return ""
}

// TestExportAuditForbiddenStops: the OAuth client lacks audits:audit:view
// (the simulator's --audits-forbidden): the audit references of every
// conversation are unknown, held or not, so none can be captured. The
// export stops at once, after the one audit request: no batch asks for
// its holds, no conversation is read or recorded failed, none is
// recorded with audit_refs [] (no entry concerns it), and the run ends
// failed with one error naming the permission, its conversations left
// pending (or not listed yet) for the rerun. Before, every batch of 100 sent its hold check
// and an audit query, then failed its conversations, pass after pass.
func TestExportAuditForbiddenStops(t *testing.T) {
	for _, byIDs := range []bool{true, false} {
		name := "interval" // the listing, beside the query, is stopped too
		if byIDs {
			name = "ids"
		}
		t.Run(name, func(t *testing.T) {
			srv := simtest.Start(t, sim.Options{
				OrgConfig:       sim.OrgConfig{Seed: 7, Conversations: 300, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2},
				AuditsForbidden: true, JobDelay: 20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
			})
			var ids []string
			for _, c := range whatsApp(srv.Org) {
				ids = append(ids, c.ID)
			}
			if len(ids) <= 100 {
				t.Fatalf("%d WhatsApp conversations: the fixture needs more than one batch of 100", len(ids))
			}
			if !byIDs {
				ids = nil
			}
			e, acct, err := auditRun(t, srv, ids)
			if err == nil || !strings.Contains(err.Error(), "audits:audit:view") || !strings.Contains(err.Error(), "403") {
				t.Fatalf("export: %v: want the run stopped, naming the 403 and audits:audit:view", err)
			}
			if n := routeRequests(srv, routeAuditQuery); n != 1 {
				t.Errorf("%d audit queries, want 1 (a 403 is final)", n)
			}
			if n, r := routeRequests(srv, routeHolds), routeRequests(srv, routeConvRead); n != 0 || r != 0 {
				t.Errorf("%d hold checks and %d conversation reads, want none", n, r)
			}
			if acct.Status != ledger.RunFailed || !strings.Contains(acct.StopReason, "audits:audit:view") {
				t.Errorf("run %s, reason %q: want failed, naming the permission", acct.Status, acct.StopReason)
			}
			if acct.Exported != 0 || acct.Failed != 0 || len(acct.Failures) != 0 || acct.Pending != acct.Listed {
				t.Errorf("accounting %+v: want every conversation pending, none failed one by one", acct)
			}
			if st := runStatus(t, e, acct.RunID); st != ledger.RunFailed {
				t.Errorf("the ledger's run status %q, want %q", st, ledger.RunFailed)
			}
			noCaptures(t, e)
			rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK || len(rep.Warnings) != 0 {
				t.Fatalf("verify: findings %v, warnings %v", rep.Findings, rep.Warnings)
			}
		})
	}
}

// TestExportAuditQueryFailsTwiceStops: the audit query ends Failed at
// the source, and again when run once more: the run stops, naming the
// query's failure, with nothing captured and nothing failed one by one.
// Failed once, the query run again serves the run, which completes.
// Before, each batch ran the query again and failed its conversations.
func TestExportAuditQueryFailsTwiceStops(t *testing.T) {
	for _, tc := range []struct {
		faults  string
		queries int64
		stops   bool
	}{
		{"auditfail@1,auditfail@2", 2, true},
		{"auditfail@1", 2, false},
	} {
		t.Run(tc.faults, func(t *testing.T) {
			srv := simtest.Start(t, sim.Options{
				OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 30, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2},
				Faults:    tc.faults, JobDelay: 20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
			})
			var ids []string
			for _, c := range whatsApp(srv.Org) {
				ids = append(ids, c.ID)
			}
			e, acct, err := auditRun(t, srv, ids)
			if n := routeRequests(srv, routeAuditQuery); n != tc.queries {
				t.Errorf("%d audit queries, want %d", n, tc.queries)
			}
			if !tc.stops {
				if err != nil || !acct.Complete() || acct.Exported != len(ids) {
					t.Fatalf("export: %v, accounting %+v: want all %d exported", err, acct, len(ids))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "audit query failed 2 times") || !strings.Contains(err.Error(), "Failed") {
				t.Fatalf("export: %v: want the run stopped by the query's failure", err)
			}
			if n := routeRequests(srv, routeHolds); n != 0 {
				t.Errorf("%d hold checks, want none", n)
			}
			if acct.Status != ledger.RunFailed || acct.Failed != 0 || acct.Pending != acct.Listed {
				t.Errorf("accounting %+v: want failed, every conversation listed pending", acct)
			}
			noCaptures(t, e)
			// Nothing of the failed queries in the ledger or the store.
			rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK || len(rep.Warnings) != 0 {
				t.Fatalf("verify: findings %v, warnings %v", rep.Findings, rep.Warnings)
			}
		})
	}
}

// TestExportAuditPageFailedNoDuplicates: the audit query's second page
// cannot be read (its cursor refused: the simulator's auditpage fault),
// so the query is run again, and succeeds. Its pages are recorded once
// each: none of the failed query's, no page twice. Before, each page was
// appended as it came, and the failed query's first page stayed in the
// append-only ledger beside the second query's.
func TestExportAuditPageFailedNoDuplicates(t *testing.T) {
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 3000, Start: orgStart, End: orgEnd, LegalHoldShare: 0.3},
		Faults:    "auditpage@1", JobDelay: 20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	audits := 0
	for i := range srv.Org.Len() {
		audits += len(srv.Org.Audits(i))
	}
	if audits <= genesys.MaxAuditPageSize {
		t.Fatalf("%d audit entries: the fixture needs more than a page of %d", audits, genesys.MaxAuditPageSize)
	}
	var ids []string
	for _, c := range whatsApp(srv.Org)[:3] {
		ids = append(ids, c.ID)
	}
	e, acct, err := auditRun(t, srv, ids)
	if err != nil || !acct.Complete() || acct.Exported != len(ids) {
		t.Fatalf("export: %v, accounting %+v: want all exported", err, acct)
	}
	if n := routeRequests(srv, routeAuditQuery); n != 2 {
		t.Errorf("%d audit queries, want 2 (the failed one, run once more)", n)
	}
	var pages []int
	entries := 0
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindAudit}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(leaf.KindAudit, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		ad := d.(*leaf.AuditDetail)
		pages = append(pages, ad.Page)
		entries += ad.Entries
	}
	want := (audits + genesys.MaxAuditPageSize - 1) / genesys.MaxAuditPageSize
	if len(pages) != want || entries != audits {
		t.Errorf("audit entries of pages %v holding %d audit entries, want pages 1 to %d once each, holding %d", pages, entries, want, audits)
	}
	for i, p := range pages {
		if p != i+1 {
			t.Errorf("audit pages recorded %v, want 1 to %d in order", pages, want)
			break
		}
	}
	rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Warnings) != 0 {
		t.Fatalf("verify: findings %v, warnings %v", rep.Findings, rep.Warnings)
	}
}
