package export_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

var (
	orgStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	orgEnd   = time.Date(2024, 3, 8, 0, 0, 0, 0, time.UTC)
)

type env struct {
	srv    *sim.Server
	ledger *ledger.Ledger
	store  evidence.Store
	key    string
	dir    string
}

func newEnv(t testing.TB, conversations int, faults string) *env {
	t.Helper()
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: conversations, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		Faults:    faults,
		JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	le := ledgertest.New(t, "matter-1")
	return &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
}

// simClient is a fetch client of srv, unpaced, with short backoffs and
// polls; each mod changes its config first (another API url, a bound).
func simClient(t testing.TB, srv *sim.Server, mod ...func(*fetch.Config)) *fetch.Client {
	t.Helper()
	cfg := fetch.Config{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		APIURL: srv.APIURL, LoginURL: srv.LoginURL,
		Rate:        1e9,
		Backoff:     func(int) time.Duration { return time.Millisecond },
		PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := fetch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) client(t testing.TB, mod ...func(*fetch.Config)) *fetch.Client {
	t.Helper()
	return simClient(t, e.srv, mod...)
}

func (e *env) run(t testing.TB, scope export.Scope) *export.Accounting {
	t.Helper()
	return e.runWith(t, scope, e.client(t))
}

// runWith is run through the client c.
func (e *env) runWith(t testing.TB, scope export.Scope, c *fetch.Client) *export.Accounting {
	t.Helper()
	if scope.Matter == "" {
		scope.Matter = "matter-1"
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("export: %v (accounting %+v)", err, acct)
	}
	return acct
}

func intervalScope() export.Scope {
	return export.Scope{Interval: orgStart.Format(time.RFC3339) + "/" + orgEnd.Add(96*time.Hour).Format(time.RFC3339), MediaType: "message", MessageType: "whatsapp"}
}

// whatsApp lists the org's WhatsApp conversations: what an export of the
// whole interval must capture, no more, no less.
func whatsApp(o *sim.Org) []*sim.ConvData {
	var out []*sim.ConvData
	for i := range o.Len() {
		c, _ := o.Conversation(o.ConversationID(i))
		if c.MessageType == "whatsapp" {
			out = append(out, c)
		}
	}
	return out
}

// checkCaptured asserts the ledger holds exactly the simulator's data:
// every message's payload hash equals the hash of the simulator's own
// object, with its compliance fields, and nothing else.
func checkCaptured(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	want := whatsApp(e.srv.Org)
	messages := 0
	for _, c := range want {
		auditIDs := []string{}
		for _, a := range c.Audits {
			auditIDs = append(auditIDs, a.ID)
		}
		slices.Sort(auditIDs)
		entries, err := e.ledger.EntriesByConversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		convEntries := 0
		for _, en := range entries {
			if en.Kind == leaf.KindConversation {
				convEntries++
			}
		}
		if convEntries != 1 {
			t.Errorf("conversation %s: %d conversation entries, want 1", c.ID, convEntries)
		}
		for _, m := range c.Messages {
			messages++
			raw, err := json.Marshal(e.srv.ServedMessage(m))
			if err != nil {
				t.Fatal(err)
			}
			wantHash, err := hashchain.PayloadHash(raw)
			if err != nil {
				t.Fatal(err)
			}
			caps, err := e.ledger.EntriesByMessage(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(caps) != 1 {
				t.Errorf("message %s: %d captures, want 1", m.ID, len(caps))
				continue
			}
			got := caps[0]
			if got.PayloadSHA256 != wantHash {
				t.Errorf("message %s: payload %s, simulator's %s", m.ID, got.PayloadSHA256, wantHash)
			}
			if got.Compliance == nil || got.Compliance.OriginalTimestamp != m.Timestamp ||
				got.Compliance.LegalHold == nil || *got.Compliance.LegalHold != c.LegalHold ||
				!slices.Equal(got.Compliance.AuditRefs, auditIDs) {
				t.Errorf("message %s: compliance %+v, want hold %v audits %v ts %s", m.ID, got.Compliance, c.LegalHold, auditIDs, m.Timestamp)
			}
			body, err := e.store.Get(ctx, got.EvidenceSHA256)
			if err != nil {
				t.Errorf("message %s: evidence %s: %v", m.ID, got.EvidenceSHA256, err)
			} else if hashchain.Hash(sha256.Sum256(body)) != got.EvidenceSHA256 {
				t.Errorf("message %s: evidence does not hash to its address", m.ID)
			}
		}
	}
	var total int
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		_ = en
		total++
	}
	if total != messages {
		t.Errorf("ledger holds %d message entries, simulator has %d WhatsApp messages", total, messages)
	}
	rep, err := verify.Ledger(ctx, e.ledger, verify.Options{VerifierKey: e.ledger.VerifierKey()})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep.Findings)
	}
}

func TestExportCleanThenUnchanged(t *testing.T) {
	e := newEnv(t, 40, "")
	acct := e.run(t, intervalScope())
	want := len(whatsApp(e.srv.Org))
	if !acct.Complete() || acct.Listed != want || acct.Exported != want {
		t.Fatalf("accounting %+v, want %d listed and exported", acct, want)
	}
	t.Logf("accounting: %+v", *acct)
	checkCaptured(t, e)
	if acct.Checkpoint == "" {
		t.Error("no checkpoint signed at the end of the run")
	}
	if _, err := e.store.GetFile(context.Background(), "checkpoints/"+strconv.FormatUint(acctSize(t, e), 10)+".note"); err != nil {
		t.Errorf("checkpoint beside the evidence: %v", err)
	}

	// A second run of the same scope appends no message: nothing changed.
	acct2 := e.run(t, intervalScope())
	if acct2.Resumed || acct2.MessagesAppended != 0 || acct2.MessagesUnchanged == 0 || acct2.Unchanged != want {
		t.Errorf("rerun accounting %+v: want a new run with every message unchanged", acct2)
	}
	checkCaptured(t, e)
}

func TestExportWithFaultsLosesNothing(t *testing.T) {
	// 5% 5xx, resets, truncated 200s, spurious 429s and a burst of four in
	// a row, and a token revoked mid-run.
	e := newEnv(t, 60, "5xx=0.05,reset=0.02,truncate=0.02,429=0.02,429@30,429@31,429@32,429@33,revoke@40")
	// An unlimited client, which honours each Retry-After and learns no
	// pace: with a finite one (simClient's 1e9 a minute), two of these
	// spurious 429s on a route within a minute give the route the pace
	// of what it carried in that minute (as they should: fetch's pacer
	// tests hold that), and the run then took from 6 s to 381 s by where
	// they fell, near the package's 10-minute limit under -race. What
	// this test asks is that nothing is lost.
	acct := e.runWith(t, intervalScope(), e.client(t, func(c *fetch.Config) { c.Rate = math.Inf(1) }))
	want := len(whatsApp(e.srv.Org))
	if !acct.Complete() || acct.Exported != want {
		t.Fatalf("accounting %+v, want all %d exported", acct, want)
	}
	t.Logf("accounting: %+v", *acct)
	if acct.Invocation.Retries == 0 || acct.Invocation.TooMany < 4 {
		t.Errorf("faults were on but %d retries, %d 429s seen", acct.Invocation.Retries, acct.Invocation.TooMany)
	}
	checkCaptured(t, e)
}

func TestExportIDsAndGoneUpstream(t *testing.T) {
	e := newEnv(t, 20, "")
	convs := whatsApp(e.srv.Org)
	ids := []string{convs[0].ID, convs[1].ID, "00000000-0000-4000-8000-000000000000"}
	e2 := *e
	acct, err := export.Run(context.Background(), export.Deps{Client: e2.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: export.Scope{Matter: "matter-1", IDs: ids}, SignerKey: e.key})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Complete() || acct.Exported != 2 || acct.Gone != 1 || len(acct.Failures) != 1 || !acct.Failures[0].Gone {
		t.Fatalf("accounting %+v: want 2 exported and 1 gone at the source", acct)
	}
}

func acctSize(t *testing.T, e *env) uint64 {
	h, err := e.ledger.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Size
}

func mustHash(t *testing.T, s string) hashchain.Hash {
	t.Helper()
	h, err := hashchain.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestExportWaitsForAuditQuery: the audit query is slower than the
// listing and there is no conversation on legal hold. Its entries must
// still land inside the run, before the run's end entry (the last entry
// of the run), not be cut short when Run returns or be written after it.
func TestExportWaitsForAuditQuery(t *testing.T) {
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 6, Start: orgStart, End: orgEnd, LegalHoldShare: 0, OtherMediaShare: 0},
		JobDelay:  20 * time.Millisecond, AuditDelay: 700 * time.Millisecond,
	})
	le := ledgertest.New(t, "matter-1")
	e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	acct := e.run(t, intervalScope())
	var kinds []string
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.RunID == acct.RunID {
			kinds = append(kinds, en.Kind)
		}
	}
	if len(kinds) == 0 || kinds[len(kinds)-1] != leaf.KindRun || !slices.Contains(kinds, leaf.KindAudit) {
		t.Errorf("the run's entries, in order: %v; want its audit entries, then the run's end last", kinds)
	}
}
