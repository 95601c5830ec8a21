package export_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestNoTokenStopsTheRun: against a login host that refuses connections,
// a run over a list of ids (refetch's scope) gives up getting a token
// once — one round of retries — and ends with that error, the run
// recorded as failed with it as the stop reason, and no conversation
// failed: it does not try each conversation in turn and record the same
// error as each one's failure. Whether the token is first needed to read
// the org's limits, or (their reading skipped) by the first legal-hold
// check, when every listed conversation is left pending for a rerun.
func TestNoTokenStopsTheRun(t *testing.T) {
	e := newEnv(t, 40, "")
	var ids []string
	for _, c := range whatsApp(e.srv.Org) {
		ids = append(ids, c.ID)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name       string
		configured bool
		pending    int
	}{
		{"org limits read first", false, 0},
		{"first hold check", true, len(ids)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(t, func(cfg *fetch.Config) {
				cfg.LoginURL = dead
				cfg.Backoff = func(int) time.Duration { return time.Millisecond }
			})
			acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
				export.Options{Scope: export.Scope{Matter: "matter-1", IDs: ids}, SignerKey: e.key, Concurrency: 4, ConfiguredRate: tc.configured})
			if !errors.Is(err, fetch.ErrNoToken) || !strings.Contains(err.Error(), "POST /oauth/token") {
				t.Fatalf("export: %v, want the token endpoint's error (ErrNoToken)", err)
			}
			tokens := c.Stats().Endpoints[fetch.RouteToken].Requests
			if max := int64(fetch.DefaultMaxAttempts); tokens == 0 || tokens > max {
				t.Errorf("%d token requests: want one round of retries (at most %d)", tokens, max)
			}
			if acct == nil || acct.Status != ledger.RunFailed || !strings.Contains(acct.StopReason, "POST /oauth/token") ||
				acct.Exported != 0 || acct.Failed != 0 || len(acct.Failures) != 0 || acct.Pending != tc.pending {
				t.Errorf("accounting %+v: want the run failed, stopped by the token error, %d conversations pending and none failed", acct, tc.pending)
			}
		})
	}
}
