package export_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestExportGoneOnlyFromConversationRead: a 404 says a conversation is
// gone, for good, only when the conversation itself is read. Behind a
// proxy that answers 404 to the first legal-hold check (a batch of
// conversations) and to the first bulk read of one conversation, nothing
// is taken for deleted upstream: those conversations fail, are tried
// again in the same run, and every one is captured.
func TestExportGoneOnlyFromConversationRead(t *testing.T) {
	e := newEnv(t, 30, "")
	up, err := url.Parse(e.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	var mu sync.Mutex
	hit := map[string]int{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := ""
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/recordings/deletionprotection":
			kind = "holds"
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages/bulk"):
			kind = "bulk"
		}
		mu.Lock()
		hit[kind]++
		first := kind != "" && hit[kind] == 1
		mu.Unlock()
		if first {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"The requested resource could not be found.","code":"not.found","status":404,"contextId":"x","details":[],"errors":[]}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	client := e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL })
	acct, err := export.Run(context.Background(), export.Deps{Client: client, Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if !acct.Complete() || acct.Gone != 0 || len(acct.Failures) != 0 {
		t.Fatalf("accounting %+v: want every conversation captured, none gone", acct)
	}
	mu.Lock()
	holds, bulk := hit["holds"], hit["bulk"]
	mu.Unlock()
	if holds < 2 || bulk < 2 {
		t.Fatalf("the proxy saw %d legal-hold checks and %d bulk reads: the faults were not met", holds, bulk)
	}
	checkCaptured(t, e)
}

// TestExportIDsAuditLookback: an export of an id list has no interval to
// bound when a hold was applied, so its audit query reaches back a year
// (Genesys keeps audit data at least that long), not 30 days.
func TestExportIDsAuditLookback(t *testing.T) {
	e := newEnv(t, 20, "")
	convs := whatsApp(e.srv.Org)
	now := time.Now().UTC()
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: export.Scope{Matter: "matter-1", IDs: []string{convs[0].ID, convs[1].ID}}, SignerKey: e.key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Exported != 2 {
		t.Fatalf("accounting %+v: want 2 exported", acct)
	}
	audits := 0
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindAudit}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(leaf.KindAudit, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		interval := d.(*leaf.AuditDetail).Interval
		start, err := time.Parse(time.RFC3339Nano, strings.SplitN(interval, "/", 2)[0])
		if err != nil {
			t.Fatalf("audit interval %q: %v", interval, err)
		}
		if !start.Before(now.AddDate(-1, 0, 1)) {
			t.Errorf("audit interval %q starts %v: want a year back from %v", interval, start, now)
		}
		audits++
	}
	if audits == 0 {
		t.Fatal("no audit entry recorded")
	}
}

// TestExportGoneOn410: a conversation whose read is answered 410 Gone is
// recorded gone (deleted upstream), final, as a 404 is: asked once, not
// failed and asked again every pass and every run. Before, 410 was a
// failure like any other.
func TestExportGoneOn410(t *testing.T) {
	e := newEnv(t, 10, "")
	gone := whatsApp(e.srv.Org)[0].ID
	up, err := url.Parse(e.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	var mu sync.Mutex
	asked := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v2/conversations/messages/"+gone {
			mu.Lock()
			asked++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte(`{"message":"The conversation was deleted","code":"gone","status":410,"contextId":"x","details":[],"errors":[]}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	acct := e.runWith(t, intervalScope(), e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL }))
	if acct.Gone != 1 || acct.Failed != 0 || len(acct.Failures) != 1 || acct.Failures[0].ConversationID != gone ||
		!acct.Failures[0].Gone || !strings.Contains(acct.Failures[0].Reason, "410") {
		t.Fatalf("accounting %+v: want %s gone (410), nothing failed", acct, gone)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 1 {
		t.Errorf("the gone conversation was asked for %d times, want once", asked)
	}
}
