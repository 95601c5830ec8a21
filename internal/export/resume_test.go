package export_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// cancelAfter cancels the run once n conversations are done, as Ctrl-C would.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Update(done, _ int, _ fetch.Stats) {
	if done >= c.n {
		c.cancel()
	}
}

func TestExportCancelledThenResumed(t *testing.T) {
	e := newEnv(t, 50, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acct, err := export.Run(ctx, export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(intervalScope()), SignerKey: e.key, Concurrency: 2, Progress: &cancelAfter{n: 8, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err %v, want context.Canceled", err)
	}
	if acct.Status != ledger.RunCancelled || acct.Exported == 0 || acct.Pending == 0 {
		t.Fatalf("cancelled run accounting %+v: want some exported, some pending", acct)
	}
	acct2 := e.run(t, intervalScope())
	if !acct2.Resumed || acct2.RunID != acct.RunID || !acct2.Complete() {
		t.Fatalf("rerun %+v: want the same run resumed and completed", acct2)
	}
	checkCaptured(t, e)
}

func TestExportDailyLimitStopsCleanly(t *testing.T) {
	e := newEnv(t, 50, "")
	// The same org (the same object, so attachment urls match) behind a
	// server whose daily limit runs out mid-run.
	limited := simtest.Start(t, sim.Options{
		Org:      e.srv.Org,
		ClientID: e.srv.ClientID, ClientSecret: e.srv.ClientSecret,
		DailyLimit: 30, DailyRetryAfter: 3 * time.Hour, JobDelay: 20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	c, err := fetch.New(fetch.Config{ClientID: limited.ClientID, ClientSecret: limited.ClientSecret, APIURL: limited.APIURL, LoginURL: limited.LoginURL,
		Rate: 1e9, Backoff: func(int) time.Duration { return time.Millisecond }, PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(intervalScope()), SignerKey: e.key})
	var dl *fetch.DailyLimitError
	if !errors.As(err, &dl) || dl.RetryAfter < time.Hour {
		t.Fatalf("err %v, want a DailyLimitError of hours", err)
	}
	if acct.Status != "stopped" || acct.ResumeAt == "" || acct.Pending == 0 {
		t.Fatalf("accounting %+v: want stopped with a resume time and pending work", acct)
	}
	// The next day (the unlimited server, same org): the run resumes.
	acct2 := e.run(t, intervalScope())
	if !acct2.Resumed || !acct2.Complete() {
		t.Fatalf("resumed run %+v", acct2)
	}
	checkCaptured(t, e)
}

func withMatter(s export.Scope) export.Scope {
	s.Matter = "matter-1"
	return s
}

// TestExportRerunRetriesFailed: conversations that failed (here: every
// request answered 503, retries exhausted) are retried by the next run of
// the same scope, however often they failed before.
func TestExportRerunRetriesFailed(t *testing.T) {
	e := newEnv(t, 20, "")
	ids := []string{}
	for _, c := range whatsApp(e.srv.Org)[:4] {
		ids = append(ids, c.ID)
	}
	scope := export.Scope{Matter: "matter-1", IDs: ids}
	broken := simtest.Start(t, sim.Options{Org: e.srv.Org, ClientID: e.srv.ClientID, ClientSecret: e.srv.ClientSecret, Faults: "503=1"})
	c, err := fetch.New(fetch.Config{ClientID: broken.ClientID, ClientSecret: broken.ClientSecret, APIURL: broken.APIURL, LoginURL: broken.LoginURL,
		Rate: 1e9, MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // fail three times: attempts pile up well beyond one run's passes
		acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
			export.Options{Scope: scope, SignerKey: e.key})
		if err != nil || acct.Failed != len(ids) || acct.Complete() {
			t.Fatalf("broken source: err %v, accounting %+v: want every conversation failed", err, acct)
		}
	}
	acct := e.run(t, scope)
	if !acct.Resumed || !acct.Complete() || acct.Exported != len(ids) {
		t.Fatalf("rerun against a healthy source: %+v", acct)
	}
}
