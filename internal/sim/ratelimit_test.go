package sim_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func header(t testing.TB, resp *http.Response, name string) int {
	t.Helper()
	v, err := strconv.Atoi(resp.Header.Get(name))
	if err != nil {
		t.Fatalf("header %s = %q", name, resp.Header.Get(name))
	}
	return v
}

// TestRateLimitBurst checks the bucket and, with LegacyRateLimitHeaders,
// the headers Genesys sent before 2021.
func TestRateLimitBurst(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 60, LegacyRateLimitHeaders: true})
	path := "/api/v2/conversations/" + s.Org.ConversationID(0)
	for k := 1; k <= 60; k++ {
		resp, b := c.do("GET", path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", k, resp.StatusCode, b)
		}
		if header(t, resp, genesys.HeaderRateLimitAllowed) != 60 || header(t, resp, genesys.HeaderRateLimitCount) != k {
			t.Fatalf("request %d: count %s allowed %s", k, resp.Header.Get(genesys.HeaderRateLimitCount), resp.Header.Get(genesys.HeaderRateLimitAllowed))
		}
		if reset := header(t, resp, genesys.HeaderRateLimitReset); reset != k {
			t.Fatalf("request %d: reset %d s, want %d (one token a second)", k, reset, k)
		}
	}
	resp, b := c.do("GET", path, nil)
	e := errBody(t, resp, b, 429)
	if e.Code != genesys.CodeTooManyRequests || e.Message != "Rate limit exceeded the maximum. Retry the request in [1] seconds" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("429: Retry-After %q, body %s", resp.Header.Get("Retry-After"), b)
	}
	// The refused request cost nothing: after Retry-After one request passes.
	clock.Advance(time.Second)
	c.must(200, "GET", path, nil)
	if st := s.Stats(); st.RateLimited != 1 || st.Routes["GET /api/v2/conversations/{conversationId}"].RateLimited != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetryAfterIsExact(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 6}) // a token every 10 s
	path := "/api/v2/conversations/" + s.Org.ConversationID(1)
	for range 6 {
		c.must(200, "GET", path, nil)
	}
	clock.Advance(2500 * time.Millisecond)
	resp, b := c.do("GET", path, nil)
	errBody(t, resp, b, 429)
	if ra := header(t, resp, "Retry-After"); ra != 8 { // 7.5 s rounded up
		t.Fatalf("Retry-After %d, want 8", ra)
	}
	clock.Advance(7 * time.Second)
	resp, _ = c.do("GET", path, nil)
	if resp.StatusCode != 429 || header(t, resp, "Retry-After") != 1 {
		t.Fatalf("0.5 s early: %d, Retry-After %s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	c.must(200, "GET", path, nil)
}

// TestHeaderHonouringClientGetsNo429 runs a client that waits
// inin-ratelimit-reset seconds whenever count reaches allowed, and one that
// waits Retry-After: neither ever sees a 429 (the first) or a second 429
// in a row (the second).
func TestHeaderHonouringClientGetsNo429(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 30, LegacyRateLimitHeaders: true})
	path := "/api/v2/conversations/" + s.Org.ConversationID(2)
	for k := range 200 {
		resp, b := c.do("GET", path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", k, resp.StatusCode, b)
		}
		if header(t, resp, genesys.HeaderRateLimitCount) >= header(t, resp, genesys.HeaderRateLimitAllowed) {
			clock.Advance(time.Duration(header(t, resp, genesys.HeaderRateLimitReset)) * time.Second)
		} else {
			clock.Advance(100 * time.Millisecond)
		}
	}
	prev429 := false
	for k := range 200 {
		resp, _ := c.do("GET", path, nil)
		switch resp.StatusCode {
		case 200:
			prev429 = false
		case 429:
			if prev429 {
				t.Fatalf("request %d: 429 right after waiting Retry-After", k)
			}
			prev429 = true
			clock.Advance(time.Duration(header(t, resp, "Retry-After")) * time.Second)
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if s.Stats().RateLimited == 0 {
		t.Fatal("the Retry-After client was never limited: the test proves nothing")
	}
}

func TestEndpointAndDailyLimits(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 300, EndpointLimits: map[string]int{"POST /api/v2/audits/query": 2}, DailyLimit: 10, DailyRetryAfter: 2 * time.Hour,
		LegacyRateLimitHeaders: true})
	q := genesys.AuditQueryRequest{Interval: interval(sim.DefaultStart, sim.DefaultEnd), ServiceName: "Quality"}
	for range 2 {
		resp, _ := c.do("POST", "/api/v2/audits/query", q)
		if resp.StatusCode != 200 || header(t, resp, genesys.HeaderRateLimitAllowed) != 2 {
			t.Fatalf("audit query: %d, allowed %s", resp.StatusCode, resp.Header.Get(genesys.HeaderRateLimitAllowed))
		}
	}
	resp, b := c.do("POST", "/api/v2/audits/query", q)
	errBody(t, resp, b, 429)
	if header(t, resp, "Retry-After") != 30 {
		t.Fatalf("endpoint Retry-After %s, want 30", resp.Header.Get("Retry-After"))
	}
	// Other routes are not held back by the audit limit.
	c.must(200, "GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
	// 4 requests so far; the daily limit of 10 stops the 11th.
	for range 6 {
		c.must(200, "GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
	}
	resp, b = c.do("GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
	errBody(t, resp, b, 429)
	// The daily refusal's headers agree with each other: the limit used
	// up, back when Retry-After says.
	if header(t, resp, "Retry-After") != 7200 || header(t, resp, genesys.HeaderRateLimitAllowed) != 10 ||
		header(t, resp, genesys.HeaderRateLimitCount) != 10 || header(t, resp, genesys.HeaderRateLimitReset) != 7200 {
		t.Fatalf("daily 429 headers: %v", resp.Header)
	}
	clock.Advance(24 * time.Hour)
	c.tok = c.token()
	c.must(200, "GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
}

// TestNoRateLimitHeadersByDefault: like Genesys since 2021, no response
// carries inin-ratelimit-*, every one carries ININ-Correlation-Id, and
// every 429 (token bucket, daily limit) has Retry-After and the body.
func TestNoRateLimitHeadersByDefault(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 2, DailyLimit: 4})
	path := "/api/v2/conversations/" + s.Org.ConversationID(0)
	check := func(name string, resp *http.Response) {
		t.Helper()
		for _, h := range []string{genesys.HeaderRateLimitAllowed, genesys.HeaderRateLimitCount, genesys.HeaderRateLimitReset} {
			if v := resp.Header.Get(h); v != "" {
				t.Errorf("%s: %s: %q", name, h, v)
			}
		}
		if resp.Header.Get(genesys.HeaderCorrelationID) == "" {
			t.Errorf("%s: no %s", name, genesys.HeaderCorrelationID)
		}
	}
	tokResp, _ := c.tokenRequest(s.ClientID, s.ClientSecret, "grant_type=client_credentials")
	check("token", tokResp)
	for k := range 2 {
		resp, _ := c.do("GET", path, nil)
		check(fmt.Sprint("request ", k+1), resp)
	}
	resp, b := c.do("GET", path, nil)
	errBody(t, resp, b, 429)
	check("bucket 429", resp)
	if header(t, resp, "Retry-After") != 30 {
		t.Errorf("bucket Retry-After %s, want 30", resp.Header.Get("Retry-After"))
	}
	clock.Advance(time.Minute)
	c.must(200, "GET", path, nil)
	resp, b = c.do("GET", path, nil) // the fifth API request of the day
	errBody(t, resp, b, 429)
	check("daily 429", resp)
	if header(t, resp, "Retry-After") != int(sim.DefaultDailyRetryAfter/time.Second) {
		t.Errorf("daily Retry-After %s", resp.Header.Get("Retry-After"))
	}
	resp, _ = c.do("GET", "/api/v2/nothing", nil)
	check("404", resp)
	c.tok = ""
	resp, _ = c.do("GET", path, nil)
	check("401", resp)
}
