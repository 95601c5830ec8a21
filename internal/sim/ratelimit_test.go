package sim_test

import (
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

func TestRateLimitBurst(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 60})
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
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 30})
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
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 300, EndpointLimits: map[string]int{"POST /api/v2/audits/query": 2}, DailyLimit: 10, DailyRetryAfter: 2 * time.Hour})
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
	if header(t, resp, "Retry-After") != 7200 {
		t.Fatalf("daily Retry-After %s", resp.Header.Get("Retry-After"))
	}
	clock.Advance(24 * time.Hour)
	c.tok = c.token()
	c.must(200, "GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
}

func TestNoLimitHeaders(t *testing.T) {
	s, c := start(t, sim.Options{})
	resp, _ := c.do("GET", "/api/v2/conversations/"+s.Org.ConversationID(0), nil)
	for _, h := range []string{genesys.HeaderRateLimitAllowed, genesys.HeaderRateLimitCount, genesys.HeaderRateLimitReset, genesys.HeaderCorrelationID} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}
