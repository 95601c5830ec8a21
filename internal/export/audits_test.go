package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
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
