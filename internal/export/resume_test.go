package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
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
// request answered 503, retries exhausted, but the audit query's, whose
// failure would stop the run before any capture) are retried by the next
// run of the same scope, however often they failed before.
func TestExportRerunRetriesFailed(t *testing.T) {
	e := newEnv(t, 20, "")
	ids := []string{}
	for _, c := range whatsApp(e.srv.Org)[:4] {
		ids = append(ids, c.ID)
	}
	scope := export.Scope{Matter: "matter-1", IDs: ids}
	up, err := url.Parse(e.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v2/audits/") || r.URL.Path == "/api/v2/audits/query" {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"message":"The server encountered an unexpected error.","code":"internal.server.error","status":503,"contextId":"x","details":[],"errors":[]}`))
	}))
	t.Cleanup(broken.Close)
	c, err := fetch.New(fetch.Config{ClientID: e.srv.ClientID, ClientSecret: e.srv.ClientSecret, APIURL: broken.URL, LoginURL: e.srv.LoginURL,
		Rate: 1e9, MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Millisecond },
		PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
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

// TestExportResumedAccountingCoversWholeRun: a run cancelled part way
// (Ctrl-C) and resumed reports, and records in its closing entry, what
// the whole run captured: its messages appended are the message entries
// the ledger holds under its run id, not only the last invocation's.
func TestExportResumedAccountingCoversWholeRun(t *testing.T) {
	e := newEnv(t, 50, "")
	first := cancelledRun(t, e, e.client(t))
	acct := e.run(t, intervalScope())
	if !acct.Resumed || acct.RunID != first.RunID || !acct.Complete() {
		t.Fatalf("rerun %+v: want the same run resumed and completed", acct)
	}
	checkWholeRun(t, e, acct)
	if acct.Invocation.MessagesAppended >= acct.MessagesAppended {
		t.Errorf("this invocation appended %d of the run's %d messages: want fewer (the first invocation appended some)",
			acct.Invocation.MessagesAppended, acct.MessagesAppended)
	}
	if acct.Invocation.Requests == 0 {
		t.Errorf("invocation requests 0, want this invocation's")
	}
}

// TestExportAccountingExactAfterKill: an invocation killed (kill -9)
// records no closing accounting; the run's next invocation still reports
// exactly what the whole run captured. The kill is simulated by undoing
// what the cancelled invocation recorded at its end (the run's status
// and accounting; its closing entry stays, the ledger being append-only,
// but nothing reads accounting back from it).
func TestExportAccountingExactAfterKill(t *testing.T) {
	e := newEnv(t, 50, "")
	first := cancelledRun(t, e, e.client(t))
	killed(t, e, first.RunID)
	acct := e.run(t, intervalScope())
	if !acct.Resumed || acct.RunID != first.RunID || !acct.Complete() {
		t.Fatalf("rerun %+v: want the same run resumed and completed", acct)
	}
	checkWholeRun(t, e, acct)
}

// TestExportChangesExactAfterKill: an invocation that captured messages
// changed at the source and was then killed left no record of which
// they were but the ledger; the run's next invocation lists every change
// of the whole run, each once, each a superseding entry of the run, as
// many as it counts changed (changed_at_source is rebuilt from the
// ledger when what was recorded at clean ends falls short).
func TestExportChangesExactAfterKill(t *testing.T) {
	e := newEnv(t, 50, "")
	if base := e.run(t, intervalScope()); !base.Complete() || base.MessagesChanged != 0 {
		t.Fatalf("first run %+v: want complete, nothing changed", base)
	}
	// The source changes (one message of every conversation reads
	// differently from now on), and a run captures the changes: the
	// ledger then holds changes of another run.
	earlier, err := export.Run(context.Background(), export.Deps{Client: editingClient(t, e.srv, "EDITED "), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(intervalScope()), SignerKey: e.key, Concurrency: 4})
	if err != nil || !earlier.Complete() || earlier.MessagesChanged == 0 {
		t.Fatalf("run after a change at the source: err %v, accounting %+v: want complete with changes", err, earlier)
	}
	// The same messages change again. The next run captures some of the
	// changes, and is killed.
	second := cancelledRun(t, e, editingClient(t, e.srv, "EDITED AGAIN "))
	if second.MessagesChanged == 0 {
		t.Fatalf("killed invocation %+v: want some changes captured before the kill", second)
	}
	killed(t, e, second.RunID)
	acct, err := export.Run(context.Background(), export.Deps{Client: editingClient(t, e.srv, "EDITED AGAIN "), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(intervalScope()), SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("resumed run: %v (accounting %+v)", err, acct)
	}
	if !acct.Resumed || acct.RunID != second.RunID || !acct.Complete() {
		t.Fatalf("rerun %+v: want the killed run resumed and completed", acct)
	}
	if acct.MessagesChanged <= second.MessagesChanged {
		t.Fatalf("run counts %d changed, the killed invocation alone %d: want this invocation to capture changes too",
			acct.MessagesChanged, second.MessagesChanged)
	}
	if len(acct.ChangedAtSource) != acct.MessagesChanged {
		t.Errorf("%d changes listed at source, %d messages counted changed", len(acct.ChangedAtSource), acct.MessagesChanged)
	}
	superseding := map[uint64]leaf.Entry{}
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage, RunID: acct.RunID}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Supersedes != nil {
			superseding[en.Seq] = en
		}
	}
	seen := map[uint64]bool{}
	for _, c := range acct.ChangedAtSource {
		if seen[c.Seq] {
			t.Errorf("change %+v listed twice", c)
		}
		seen[c.Seq] = true
		en, ok := superseding[c.Seq]
		switch {
		case !ok:
			t.Errorf("change %+v: no message entry of run %s superseding another at seq %d", c, acct.RunID, c.Seq)
		case *en.Supersedes != c.Supersedes || en.ConversationID != c.ConversationID || en.MessageID != c.MessageID:
			t.Errorf("change %+v: the ledger's entry %d is message %s of %s superseding %d",
				c, en.Seq, en.MessageID, en.ConversationID, *en.Supersedes)
		}
	}
	checkWholeRun(t, e, acct)
}

// killed undoes what run's last invocation recorded at its end (its
// status and accounting), as if it had been killed (kill -9) instead:
// its closing entry stays, the ledger being append-only, but nothing
// reads accounting back from it.
func killed(t *testing.T, e *env, runID string) {
	t.Helper()
	if err := e.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		run, ok, err := tx.Run(runID)
		if err != nil || !ok {
			return fmt.Errorf("run %s: found %v: %w", runID, ok, err)
		}
		run.Status, run.EndedAt, run.Accounting = ledger.RunRunning, time.Time{}, nil
		return tx.PutRun(run)
	}); err != nil {
		t.Fatal(err)
	}
}

// cancelledRun runs an export of intervalScope through c that is
// cancelled, as Ctrl-C would, once 8 conversations are done.
func cancelledRun(t *testing.T, e *env, c *fetch.Client) *export.Accounting {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: withMatter(intervalScope()), SignerKey: e.key, Concurrency: 2, Progress: &cancelAfter{n: 8, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err %v, want context.Canceled", err)
	}
	if acct.Status != ledger.RunCancelled || acct.MessagesAppended == 0 || acct.Pending == 0 {
		t.Fatalf("cancelled run accounting %+v: want some messages appended, some conversations pending", acct)
	}
	return acct
}

// checkWholeRun asserts acct, and the accounting its run's closing entry
// records, count what the ledger holds under the run id.
func checkWholeRun(t *testing.T, e *env, acct *export.Accounting) {
	t.Helper()
	ctx := context.Background()
	messages, superseding, media := 0, 0, 0
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, RunID: acct.RunID}) {
		if err != nil {
			t.Fatal(err)
		}
		messages++
		if en.Supersedes != nil {
			superseding++
		}
		d, err := leaf.DecodeDetail(en.Kind, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		media += len(d.(*leaf.MessageDetail).Media)
	}
	if messages == 0 {
		t.Fatal("no message entries under the run id")
	}
	got := []int{acct.MessagesAppended, acct.MessagesChanged, len(acct.ChangedAtSource), acct.MediaDownloaded + acct.MediaExpired + acct.MediaRefused}
	want := []int{messages, superseding, superseding, media}
	if !slices.Equal(got, want) {
		t.Errorf("accounting appended, changed, changed at source, media %v; the ledger holds %v under run %s", got, want, acct.RunID)
	}
	// The closing entry records the same whole-run figures.
	var closing *leaf.RunDetail
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindRun, RunID: acct.RunID}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(en.Kind, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		if rd := d.(*leaf.RunDetail); rd.Event == leaf.RunEnd {
			closing = rd
		}
	}
	if closing == nil {
		t.Fatal("no closing run entry")
	}
	var rec export.Accounting
	if err := json.Unmarshal(closing.Accounting, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.MessagesAppended != messages || rec.Exported != acct.Exported {
		t.Errorf("closing entry records %d messages appended, %d conversations exported; want %d, %d", rec.MessagesAppended, rec.Exported, messages, acct.Exported)
	}
}
