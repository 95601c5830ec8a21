package export_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
)

// TestExportStopsOnLongUnavailable: the conversations API answers 503
// with Retry-After: 3600 (a maintenance window). The run stops, recorded
// stopped with the time to resume, after the few requests already under
// way; it does not go on asking for every conversation, each failing at
// once, pass after pass (before: failed, 3 requests per conversation).
func TestExportStopsOnLongUnavailable(t *testing.T) {
	e := newEnv(t, 60, "")
	up, err := url.Parse(e.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	var hits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v2/conversations/messages/") {
			hits.Add(1)
			w.Header().Set("Retry-After", "3600")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body>Down for maintenance</body></html>"))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	const workers = 4
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL }), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: workers})
	var dl *fetch.DailyLimitError
	if !errors.As(err, &dl) || dl.Status != http.StatusServiceUnavailable {
		t.Fatalf("export: %v: want the 503's stop", err)
	}
	if acct.Status != "stopped" || acct.ResumeAt == "" || !strings.Contains(acct.StopReason, "503") {
		t.Errorf("run %s, resume at %q, reason %q: want stopped, with when to resume", acct.Status, acct.ResumeAt, acct.StopReason)
	}
	if n := hits.Load(); n > workers {
		t.Errorf("%d requests to the unavailable API, want at most one per worker (%d)", n, workers)
	}
	if acct.Exported != 0 || acct.Pending+acct.Failed != acct.Listed || acct.Listed == 0 {
		t.Errorf("accounting %+v: want every listed conversation left for the resumed run", acct)
	}
}
