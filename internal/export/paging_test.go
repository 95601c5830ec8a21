package export_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// pagingEnv is newEnv with the simulator options a paging test needs.
func pagingEnv(t *testing.T, opts sim.Options) *env {
	t.Helper()
	opts.OrgConfig = sim.OrgConfig{Seed: 7, Conversations: 120, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2}
	opts.JobDelay, opts.AuditDelay = 20*time.Millisecond, 20*time.Millisecond
	srv := simtest.Start(t, opts)
	le := ledgertest.New(t, "matter-1")
	return &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
}

func runPaged(t *testing.T, e *env) *export.Accounting {
	t.Helper()
	scope := intervalScope()
	scope.Matter = "matter-1"
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4, ListPageSize: 10})
	if err != nil {
		t.Fatalf("export: %v (accounting %+v)", err, acct)
	}
	return acct
}

// TestExportSurvivesPaging: against the default (headerless) simulator
// with faults, short non-final pages, a cursor expiring mid-listing and
// then the job itself, the export resumes with a new job and captures
// every conversation, nothing lost or twice.
func TestExportSurvivesPaging(t *testing.T) {
	e := pagingEnv(t, sim.Options{
		RateLimit: 600, // read at start from the limits endpoint: the run paces under it
		Faults:    "5xx=0.03,reset=0.01",
		Paging:    sim.PagingFaults{ShortPages: 0.3, ExpireCursorAt: 3, ExpireJobAt: 9},
	})
	acct := runPaged(t, e)
	want := len(whatsApp(e.srv.Org))
	if !acct.Complete() || acct.Exported != want || acct.Listed != want || acct.DataAvailableUntil != "" {
		t.Fatalf("accounting %+v, want all %d listed and exported", acct, want)
	}
	checkCaptured(t, e)
	if st := e.srv.Stats(); st.RateLimited != 0 || st.Routes[sim.LimitsRoute].Requests == 0 {
		t.Errorf("%d 429s, %d limits reads: want the limits read and none refused", st.RateLimited, st.Routes[sim.LimitsRoute].Requests)
	}
	st := e.srv.Stats().Routes["POST /api/v2/analytics/conversations/details/jobs"]
	if st.Requests < 3 {
		t.Errorf("%d listing jobs, want the first and one per expiry", st.Requests)
	}
}

// TestExportReportsDataAvailability: analytics lagging behind the
// interval's end is reported (data_available_until, run not complete),
// never silently missed; a rerun once the data is there captures the
// rest.
func TestExportReportsDataAvailability(t *testing.T) {
	until := orgStart.Add(orgEnd.Sub(orgStart) / 2)
	e := pagingEnv(t, sim.Options{DataAvailableUntil: until})
	acct := runPaged(t, e)
	all := whatsApp(e.srv.Org)
	before := 0
	for _, c := range all {
		i, _ := e.srv.Org.Index(c.ID)
		if s, _ := e.srv.Org.Span(i); s.Before(until) {
			before++
		}
	}
	if acct.Complete() || acct.DataAvailableUntil == "" || acct.Listed != before || acct.Exported != before || before == 0 || before == len(all) {
		t.Fatalf("accounting %+v, want the %d of %d conversations before %s and the gap reported", acct, before, len(all), until)
	}
	// The same org, its analytics caught up: the rerun resumes the run,
	// lists again and captures the rest.
	e2 := *e
	e2.srv = simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 120, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	acct = runPaged(t, &e2)
	if !acct.Resumed || !acct.Complete() || acct.Exported != len(all) || acct.DataAvailableUntil != "" {
		t.Fatalf("rerun: accounting %+v, want all %d", acct, len(all))
	}
	// (The second simulator serves media from another host, so its
	// messages' bytes differ from the first's: no byte check across them.)
}

// TestExportListsWhenPageSizeRefused: a source that refuses the listing's
// pageSize (the default, 1000: Genesys documents no maximum) with a 400
// is not an expired listing. The export lists through one job at the
// source's default page size and captures everything; before, it took the
// 400 for an expiry, listed again three times and failed saying so.
func TestExportListsWhenPageSizeRefused(t *testing.T) {
	e := pagingEnv(t, sim.Options{JobPageSize: 25, JobMaxPageSize: 40})
	scope := intervalScope()
	scope.Matter = "matter-1"
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("export: %v (accounting %+v)", err, acct)
	}
	want := len(whatsApp(e.srv.Org))
	if !acct.Complete() || acct.Listed != want || acct.Exported != want {
		t.Fatalf("accounting %+v, want all %d listed and exported", acct, want)
	}
	checkCaptured(t, e)
	st := e.srv.Stats().Routes
	if jobs, refused := st["POST /api/v2/analytics/conversations/details/jobs"].Requests, st["GET /api/v2/analytics/conversations/details/jobs/{jobId}/results"].Status["400"]; jobs != 1 || refused != 1 {
		t.Errorf("%d listing jobs, %d results requests refused: want 1 and 1", jobs, refused)
	}
}
