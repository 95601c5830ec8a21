package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
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

// TestExportAuditQueryFailedCapturesNothing: when the audit query fails
// (403: the OAuth client lacks audits:audit:view), the audit references of
// every conversation are unknown, held or not: none is recorded with
// audit_refs [] (no entry concerns it), each fails saying why, and the
// run is not complete. Before, a conversation not held at the time was
// captured with [].
func TestExportAuditQueryFailedCapturesNothing(t *testing.T) {
	e := newEnv(t, 20, "")
	var ids []string
	for _, c := range whatsApp(e.srv.Org) {
		if !c.LegalHold && len(ids) < 2 {
			ids = append(ids, c.ID)
		}
	}
	up, err := url.Parse(e.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v2/audits/query") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"You are missing the following permission(s): audits:audit:view","code":"missing.permissions","status":403,"contextId":"x","details":[],"errors":[]}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL }), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: export.Scope{Matter: "matter-1", IDs: ids}, SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if acct.Complete() || acct.Exported != 0 || acct.Failed != len(ids) {
		t.Fatalf("accounting %+v: want %d failed, none exported", acct, len(ids))
	}
	for _, f := range acct.Failures {
		if !strings.Contains(f.Reason, "audit") || !strings.Contains(f.Reason, "audits:audit:view") {
			t.Errorf("conversation %s: reason %q: want the audit query's failure", f.ConversationID, f.Reason)
		}
	}
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Kind == leaf.KindConversation || en.Kind == leaf.KindMessage {
			t.Fatalf("entry %d (%s of %s) recorded while the audit references are unknown", en.Seq, en.Kind, en.ConversationID)
		}
	}
}
