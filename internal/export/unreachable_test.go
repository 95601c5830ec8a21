package export_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
)

// dyingAPI is a proxy to the simulator's API host that stops listening
// after its first n requests, as an API host going down mid-run: every
// later connection is refused, while the login host keeps working.
func dyingAPI(t *testing.T, target string, n int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var seen atomic.Int64
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) >= n {
			once.Do(func() { ln.Close() })
		}
		proxy.ServeHTTP(w, r)
	})}
	srv.SetKeepAlivesEnabled(false) // each request a new connection: refused once closed
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestAPIUnreachableStopsTheRun: with the login host working and the API
// host refusing connections — from the start, or from part-way through —
// a run stops once, with fetch.ErrAPIUnreachable naming the host, the run
// recorded as failed with it as its stop reason, no conversation
// recorded as failed for it (each would otherwise use up its retries and
// fail in turn, for the same reason, passes after passes), and every
// conversation not captured left pending for a rerun, which captures
// them once the host is back.
func TestAPIUnreachableStopsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after int64 // API requests answered before the host goes down; 0: down from the start
	}{
		{"down from the start", 0},
		{"down part-way", 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 60, "")
			var ids []string
			for _, c := range whatsApp(e.srv.Org) {
				ids = append(ids, c.ID)
			}
			var api string
			if tc.after == 0 {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				api = "http://" + ln.Addr().String()
				ln.Close()
			} else {
				api = dyingAPI(t, e.srv.APIURL, tc.after)
			}
			host := strings.TrimPrefix(api, "http://")
			c := e.client(t, func(cfg *fetch.Config) { cfg.APIURL = api })
			scope := export.Scope{Matter: "matter-1", IDs: ids}
			acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
				export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4, ConfiguredRate: true})
			if !errors.Is(err, fetch.ErrAPIUnreachable) || !strings.Contains(err.Error(), host) {
				t.Fatalf("export: %v, want ErrAPIUnreachable naming %s", err, host)
			}
			if acct == nil || acct.Status != ledger.RunFailed || !strings.Contains(acct.StopReason, "cannot be reached") ||
				acct.Failed != 0 || len(acct.Failures) != 0 || acct.Listed != len(ids) || acct.Exported+acct.Pending != len(ids) {
				t.Fatalf("accounting %+v: want the run failed, stopped by the unreachable host, none failed, the rest pending", acct)
			}
			if tc.after == 0 && acct.Exported != 0 {
				t.Errorf("%d exported from a host that was never up", acct.Exported)
			}
			// Once declared unreachable, no request goes to the host: at
			// most one round of retries per worker (and the hold checker,
			// and the audit query) after the last answer.
			if n, max := c.Stats().Requests-c.Stats().Endpoints[fetch.RouteToken].Requests, tc.after+6*fetch.DefaultMaxAttempts; n > max {
				t.Errorf("%d API requests, want at most %d", n, max)
			}
			// The host is back: a rerun resumes the run and captures the rest.
			acct = e.runWith(t, scope, e.client(t))
			if !acct.Resumed || !acct.Complete() || acct.Exported != len(ids) {
				t.Errorf("rerun: %+v, want the run resumed and complete", acct)
			}
		})
	}
}
