package reconcile_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestRefetchNoToken: a refetch whose login host refuses connections
// cannot get a token for any conversation: it gives up once (one round
// of token retries), returns that error with the run's accounting
// (failed, the error as its stop reason), and records no outcome — not
// one still_missing per gap, each after its own round of retries, for a
// failure that is about the credentials and not about any conversation.
func TestRefetchNoToken(t *testing.T) {
	srv, l, st, _ := captureAll(t, 10)
	ctx := context.Background()
	var findings []diff.Finding
	for i := range srv.Org.Len() {
		findings = append(findings, diff.Finding{Kind: finding.NotCaptured, ConversationID: srv.Org.ConversationID(i), MessageID: "m"})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: dead, Rate: 1e9,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.Refetch(ctx, export.Deps{Client: c, Ledger: l, Evidence: st}, findings, "", export.Options{Scope: export.Scope{Matter: "m"}}, reconcile.RefetchOptions{})
	if !errors.Is(err, fetch.ErrNoToken) {
		t.Fatalf("refetch: %v (result %+v), want the token endpoint's error", err, res)
	}
	if n := c.Stats().Endpoints[fetch.RouteToken].Requests; n > fetch.DefaultMaxAttempts {
		t.Errorf("%d token requests: want one round of retries (at most %d)", n, fetch.DefaultMaxAttempts)
	}
	if res == nil || res.Export == nil || res.Export.Status != ledger.RunFailed || res.Export.StopReason == "" || len(res.Outcomes) != 0 || res.Gaps != len(findings) ||
		res.Stopped != res.Export.StopReason || !strings.Contains(res.Stopped, "POST /oauth/token") {
		t.Fatalf("result %+v: want the %d gaps counted, no outcome, stopped by the token error, and the run's accounting (failed, with its stop reason)", res, len(findings))
	}
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindRefetch}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("refetch entry %d recorded: %s", e.Seq, e.Detail)
	}
}

// TestRefetchAPIUnreachable: a refetch whose API host refuses connections
// while its login host works stops once, with fetch.ErrAPIUnreachable
// naming the host and the run's accounting (failed, the error as its
// stop reason, none of its conversations failed: all pending), and
// records no outcome — not one still_missing per gap, each after its own
// round of retries, for a failure that is about the host and not about
// any conversation.
func TestRefetchAPIUnreachable(t *testing.T) {
	srv, l, st, _ := captureAll(t, 10)
	ctx := context.Background()
	var findings []diff.Finding
	for i := range srv.Org.Len() {
		findings = append(findings, diff.Finding{Kind: finding.NotCaptured, ConversationID: srv.Org.ConversationID(i), MessageID: "m"})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	c, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: "http://" + dead, LoginURL: srv.LoginURL, Rate: 1e9,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.Refetch(ctx, export.Deps{Client: c, Ledger: l, Evidence: st}, findings, "", export.Options{Scope: export.Scope{Matter: "m"}}, reconcile.RefetchOptions{})
	if !errors.Is(err, fetch.ErrAPIUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("refetch: %v (result %+v), want ErrAPIUnreachable naming %s", err, res, dead)
	}
	if res == nil || res.Export == nil || res.Export.Status != ledger.RunFailed || res.Export.Failed != 0 || res.Export.Pending != res.Export.Listed ||
		len(res.Outcomes) != 0 || res.Gaps != len(findings) || res.Stopped != res.Export.StopReason || !strings.Contains(res.Stopped, dead) {
		t.Fatalf("result %+v (export %+v): want the %d gaps counted, no outcome, stopped by the unreachable host, every conversation pending", res, res.Export, len(findings))
	}
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindRefetch}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("refetch entry %d recorded: %s", e.Seq, e.Detail)
	}
}
