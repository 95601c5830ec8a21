package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// failThen answers the first n API requests with fail, then with ok.
func failThen(n int64, fail, ok http.HandlerFunc) http.HandlerFunc {
	var calls atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			fail(w, r)
			return
		}
		ok(w, r)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, code, fmt.Sprintf(`{"status":%d,"code":"x","message":"m"}`, code))
	}
}

func TestRetryByStatus(t *testing.T) {
	for _, tc := range []struct {
		status   int
		retried  bool
		sentinel error
	}{
		{500, true, nil},
		{502, true, nil},
		{503, true, nil},
		{504, true, nil},
		{408, true, nil},
		{429, true, ErrRateLimited},
		{501, false, nil},
		{404, false, ErrNotFound},
		{400, false, ErrBadRequest},
		{403, false, ErrForbidden},
		{409, false, nil},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			f := newFakeAPI(t, failThen(1, status(tc.status), okConversation))
			c := f.client(newFakeClock())
			_, resp, err := c.GetConversation(context.Background(), "c1")
			if tc.retried {
				if err != nil {
					t.Fatalf("err = %v, want success after a retry", err)
				}
				if f.apiCalls.Load() != 2 || resp.Attempts != 2 {
					t.Errorf("api calls %d, attempts %d; want 2", f.apiCalls.Load(), resp.Attempts)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.status {
				t.Fatalf("err = %v, want *APIError %d", err, tc.status)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if f.apiCalls.Load() != 1 {
				t.Errorf("api calls %d, want 1 (not retried)", f.apiCalls.Load())
			}
			if ae.Method != "GET" || ae.Path != "/api/v2/conversations/c1" || ae.Body.Code != "x" {
				t.Errorf("APIError = %+v", ae)
			}
		})
	}
}

// hijackCutBody announces a long body, sends part of it and closes the
// connection, optionally with an RST (SO_LINGER 0) instead of a FIN.
func hijackCutBody(rst bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":\"c1\",\"partic")
		_ = buf.Flush()
		if tcp, ok := conn.(*net.TCPConn); ok && rst {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}
}

func TestRetryBrokenBodies(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"cut mid-body", hijackCutBody(false)},
		{"reset mid-body", hijackCutBody(true)},
		{"truncated JSON with 200", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"c1","partic`) }},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }},
		{"html 200", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `<html>maintenance</html>`) }},
		{"connection closed before answer", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			_ = conn.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, failThen(2, tc.h, okConversation))
			c := f.client(newFakeClock())
			conv, resp, err := c.GetConversation(context.Background(), "c1")
			if err != nil {
				t.Fatalf("err = %v, want success after retries", err)
			}
			// net/http may itself retry a GET whose reused connection
			// closed before any answer; that costs a request, not an attempt.
			if conv.ID != "c1" || resp.Attempts < 2 || f.apiCalls.Load() != 3 {
				t.Errorf("id %q attempts %d calls %d; want c1, 3, 3", conv.ID, resp.Attempts, f.apiCalls.Load())
			}
			if s := c.Stats(); s.Retries != int64(resp.Attempts-1) || s.Endpoints[RouteConversation].Retries != s.Retries {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestMalformedBodyGivesUpWithSentinel(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":`) })
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, _, err := c.GetConversation(context.Background(), "c1")
	if !errors.Is(err, ErrMalformedBody) {
		t.Fatalf("err = %v, want ErrMalformedBody", err)
	}
	if f.apiCalls.Load() != 3 {
		t.Errorf("api calls %d, want 3", f.apiCalls.Load())
	}
}

func TestAttemptsCapped(t *testing.T) {
	f := newFakeAPI(t, status(503))
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.MaxAttempts = 4 })
	_, _, err := c.GetConversation(context.Background(), "c1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("err = %v, want the last *APIError", err)
	}
	if f.apiCalls.Load() != 4 {
		t.Errorf("api calls %d, want 4", f.apiCalls.Load())
	}
	// Requests counts the token fetch too.
	if s := c.Stats(); s.Requests != 5 || s.Endpoints[RouteConversation].Requests != 4 || s.Retries != 3 || s.Failures != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestElapsedCapped(t *testing.T) {
	f := newFakeAPI(t, status(500))
	clk := newFakeClock()
	c := f.client(clk, func(cfg *Config) {
		cfg.MaxAttempts = 100
		cfg.MaxElapsed = 10 * time.Second
		cfg.Backoff = func(int) time.Duration { return 4 * time.Second }
	})
	_, _, err := c.GetConversation(context.Background(), "c1")
	if err == nil {
		t.Fatal("want an error")
	}
	// Attempts at virtual t=0, 4, 8; a fourth would start at 12 > 10.
	if f.apiCalls.Load() != 3 {
		t.Errorf("api calls %d, want 3", f.apiCalls.Load())
	}
	if got := clk.Sleeps(); len(got) != 2 {
		t.Errorf("sleeps %v, want two of 4s", got)
	}
}

func TestCancellationStopsRetries(t *testing.T) {
	t.Run("cancelled during backoff", func(t *testing.T) {
		f := newFakeAPI(t, status(503))
		clk := newFakeClock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clk.onSleep = func(time.Duration) { cancel() }
		c := f.client(clk)
		_, _, err := c.GetConversation(ctx, "c1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if f.apiCalls.Load() != 1 {
			t.Errorf("api calls %d, want 1", f.apiCalls.Load())
		}
	})
	t.Run("real sleep interrupted", func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case arrived <- struct{}{}:
			default:
			}
			status(500)(w, r)
		})
		ctx, cancel := context.WithCancel(context.Background())
		c := f.client(newFakeClock(), func(cfg *Config) {
			cfg.Sleep = nil // the real, ctx-aware sleep
			cfg.Backoff = func(int) time.Duration { return time.Hour }
			cfg.MaxElapsed = 2 * time.Hour
		})
		done := make(chan error, 1)
		go func() { _, _, err := c.GetConversation(ctx, "c1"); done <- err }()
		<-arrived
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("call did not return after cancellation")
		}
		if f.apiCalls.Load() != 1 {
			t.Errorf("api calls %d, want 1", f.apiCalls.Load())
		}
	})
	t.Run("cancelled before the call", func(t *testing.T) {
		f := newFakeAPI(t, okConversation)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := f.client(newFakeClock())
		if _, _, err := c.GetConversation(ctx, "c1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if f.apiCalls.Load() != 0 || f.tokenCalls.Load() != 0 {
			t.Error("requests made after cancellation")
		}
	})
}

func TestRetryAfterOn503Honoured(t *testing.T) {
	f := newFakeAPI(t, failThen(1, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		status(503)(w, r)
	}, okConversation))
	clk := newFakeClock()
	c := f.client(clk)
	if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if s := clk.Sleeps(); len(s) != 1 || s[0] != 7*time.Second {
		t.Errorf("sleeps %v, want [7s]", s)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	big := `{"id":"` + string(make([]byte, 0)) + fmt.Sprintf("%0200d", 0) + `"}`
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"content-length", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, big) }},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for i := 0; i < len(big); i += 10 {
				_, _ = io.WriteString(w, big[i:min(i+10, len(big))])
				http.NewResponseController(w).Flush()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, tc.h)
			c := f.client(newFakeClock(), func(cfg *Config) { cfg.MaxResponseBytes = 100 })
			_, _, err := c.GetConversation(context.Background(), "c1")
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if f.apiCalls.Load() != 1 {
				t.Errorf("api calls %d, want 1 (not retried)", f.apiCalls.Load())
			}
		})
	}
}

func TestShouldRetry(t *testing.T) {
	c := &Client{cfg: Config{}.withDefaults()}
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	resp := func(code int, ra string) *http.Response {
		h := http.Header{}
		if ra != "" {
			h.Set("Retry-After", ra)
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		resp  *http.Response
		err   error
		retry bool
		wait  time.Duration
	}{
		{"429 with Retry-After", ctx, resp(429, "12"), nil, true, 12 * time.Second},
		{"503 without", ctx, resp(503, ""), nil, true, 0},
		{"599", ctx, resp(599, ""), nil, true, 0},
		{"501", ctx, resp(501, ""), nil, false, 0},
		{"404", ctx, resp(404, ""), nil, false, 0},
		{"401", ctx, resp(401, ""), nil, false, 0},
		{"reset", ctx, nil, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true, 0},
		{"refused", ctx, nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true, 0},
		{"unexpected EOF", ctx, nil, io.ErrUnexpectedEOF, true, 0},
		{"attempt timeout", ctx, nil, context.DeadlineExceeded, true, 0},
		{"malformed JSON", ctx, resp(200, ""), fmt.Errorf("x: %w", ErrMalformedBody), true, 0},
		{"too large", ctx, nil, ErrTooLarge, false, 0},
		{"other error", ctx, nil, errors.New("tls: bad certificate"), false, 0},
		{"cancelled ctx", cancelled, resp(503, ""), nil, false, 0},
		{"cancelled ctx, reset", cancelled, nil, syscall.ECONNRESET, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry, wait := c.shouldRetry(tc.ctx, tc.resp, tc.err)
			if retry != tc.retry || wait != tc.wait {
				t.Errorf("shouldRetry = %v, %s; want %v, %s", retry, wait, tc.retry, tc.wait)
			}
		})
	}
}

func TestFullJitterBounds(t *testing.T) {
	base, ceiling := 500*time.Millisecond, 30*time.Second
	for n := 1; n <= 70; n++ {
		limit := ceiling
		if n < 10 {
			limit = min(ceiling, base<<(n-1))
		}
		for range 50 {
			if d := fullJitter(base, ceiling, n); d < 0 || d > limit {
				t.Fatalf("fullJitter(n=%d) = %s, outside [0, %s]", n, d, limit)
			}
		}
	}
}

func TestConcurrentRetriesRaceClean(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		n := seen[r.URL.Path]
		mu.Unlock()
		if n == 1 {
			status(502)(w, r)
			return
		}
		okConversation(w, r)
	})
	c := f.client(newFakeClock())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := c.GetConversation(context.Background(), fmt.Sprintf("c%d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s := c.Stats()
	if s.Requests != 41 || s.Retries != 20 || s.Endpoints[RouteConversation].Requests != 40 {
		t.Errorf("stats %+v", s)
	}
}

// TestFirstRetryQuicker: with the default backoff, the first retry of a
// 5xx waits at most BackoffBase/5 and later ones up to the full capped
// exponential; a 429 without Retry-After keeps the full base.
func TestFirstRetryQuicker(t *testing.T) {
	base := DefaultBackoffBase
	var first, second, throttled []time.Duration
	for range 40 {
		f := newFakeAPI(t, status(503))
		clk := newFakeClock()
		c := f.client(clk, func(cfg *Config) { cfg.Backoff, cfg.MaxAttempts = nil, 3 })
		if _, _, err := c.GetConversation(context.Background(), "c1"); err == nil {
			t.Fatal("want an error")
		}
		s := clk.Sleeps()
		if len(s) != 2 {
			t.Fatalf("sleeps %v, want 2", s)
		}
		first, second = append(first, s[0]), append(second, s[1])

		f = newFakeAPI(t, status(429))
		clk = newFakeClock()
		c = f.client(clk, func(cfg *Config) { cfg.Backoff, cfg.MaxAttempts = nil, 2 })
		if _, _, err := c.GetConversation(context.Background(), "c1"); err == nil {
			t.Fatal("want an error")
		}
		// The wait is the pacer's pause (every worker waits at the gate):
		// the longest sleep.
		s = clk.Sleeps()
		if len(s) == 0 {
			t.Fatal("429: no wait")
		}
		throttled = append(throttled, slices.Max(s))
	}
	check := func(name string, ds []time.Duration, limit time.Duration) {
		t.Helper()
		var top time.Duration
		for _, d := range ds {
			if d < 0 || d > limit {
				t.Errorf("%s wait %s outside [0, %s]", name, d, limit)
			}
			top = max(top, d)
		}
		// 40 uniform draws all in the lower half: 2⁻⁴⁰.
		if top <= limit/2 {
			t.Errorf("%s waits %v: none above %s, not drawn over [0, %s]", name, ds, limit/2, limit)
		}
	}
	check("first retry of a 503", first, 100*time.Millisecond)
	check("second retry of a 503", second, 2*base)
	check("retry of a 429 without Retry-After", throttled, base)
}

// TestUnavailableLongRetryAfterStopsEveryClient: a 503 from the API with
// a Retry-After longer than a call may wait (MaxElapsed: a maintenance
// window) stops every client until then, as a daily 429 does: the call
// fails at once with a *DailyLimitError saying 503 and when to resume,
// and every later call, whatever its route or client, fails without a
// request. Before, each call gave up at once (the wait passed MaxElapsed)
// and the next one asked again: an export sent 168 requests in 3.5 s to
// an API that had asked for an hour's pause.
func TestUnavailableLongRetryAfterStopsEveryClient(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("ININ-Correlation-Id", "corr-503")
		writeJSON(w, 503, `{"message":"The service is down for maintenance","code":"service.unavailable","status":503,"contextId":"corr-503","details":[],"errors":[]}`)
	})
	c := f.client(clk, func(cfg *Config) {
		cfg.Rate = 600
		cfg.Clients = []Credentials{{ID: "second-client", Secret: "second-secret"}}
	})
	ctx := context.Background()
	_, _, err := c.GetConversation(ctx, "c1")
	var dl *DailyLimitError
	if !errors.As(err, &dl) {
		t.Fatalf("err = %v, want *DailyLimitError", err)
	}
	if dl.Status != 503 || dl.RetryAfter != time.Hour || !dl.Until.Equal(t0.Add(time.Hour)) || dl.CorrelationID != "corr-503" {
		t.Errorf("DailyLimitError = %+v", dl)
	}
	if msg := err.Error(); !strings.Contains(msg, "503 Service Unavailable") || strings.Contains(msg, "daily") {
		t.Errorf("message %q: want the 503 named, not a daily rate limit", msg)
	}
	if errors.Is(err, ErrRateLimited) {
		t.Error("a 503 matches ErrRateLimited")
	}
	if s := clk.Sleeps(); len(s) != 0 {
		t.Errorf("slept %v before stopping", s)
	}
	for i := range 4 {
		_, _, err := c.GetMessage(ctx, "c1", "m"+strconv.Itoa(i))
		if !errors.As(err, &dl) || dl.Status != 503 || !dl.Until.Equal(t0.Add(time.Hour)) {
			t.Errorf("later call %d: err = %v, want the same stop", i, err)
		}
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Errorf("%d API requests, want 1", n)
	}
}

// TestHTTP2StreamResetRetried: over HTTP/2 (which the client negotiates
// with a TLS API or media host), a server or load balancer that resets
// the stream mid-body (RST_STREAM INTERNAL_ERROR) is a transient failure
// like a TCP reset: the call is tried again and succeeds. Before, the
// stream error was not known as retryable and the call failed at once.
func TestHTTP2StreamResetRetried(t *testing.T) {
	var calls atomic.Int32
	var protos sync.Map
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			writeJSON(w, 200, `{"access_token":"tok-1","token_type":"bearer","expires_in":86400}`)
			return
		}
		protos.Store(r.Proto, true)
		body := `{"id":"c1","participants":[]}`
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write([]byte(body[:10]))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // HTTP/2: RST_STREAM INTERNAL_ERROR
		}
		writeJSON(w, 200, body)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the abort is logged by the server
	srv.StartTLS()
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	c, err := New(Config{ClientID: testID, ClientSecret: testSecret, APIURL: srv.URL, Rate: math.Inf(1), Version: "test",
		HTTPClient: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.GetMessageConversation(context.Background(), "c1")
	if err != nil {
		t.Fatalf("a stream reset once: %v", err)
	}
	if _, ok := protos.Load("HTTP/2.0"); !ok || resp.Attempts != 2 || calls.Load() != 2 {
		t.Errorf("attempts %d, requests %d, protocols seen %v: want 2 HTTP/2 attempts", resp.Attempts, calls.Load(), syncKeys(&protos))
	}
}

func syncKeys(m *sync.Map) []any {
	var out []any
	m.Range(func(k, _ any) bool { out = append(out, k); return true })
	return out
}

// TestHTTP2ErrorsRetryable: the HTTP/2 failures net/http reports (its
// error types are unexported: matched by text) that say the peer gave up
// on a stream or a connection are retried; a stream error that would
// come again (a protocol error) is not.
func TestHTTP2ErrorsRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  string
		want bool
	}{
		{"stream error: stream ID 3; INTERNAL_ERROR; received from peer", true},
		{"stream error: stream ID 5; REFUSED_STREAM", true},
		{"stream error: stream ID 7; CANCEL; received from peer", true},
		{"http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=\"\"", true},
		{"http2: Transport received Server's graceful shutdown GOAWAY", true},
		{"http2: client connection lost", true},
		{"stream error: stream ID 3; PROTOCOL_ERROR; received from peer", false},
		{"stream error: stream ID 3; FLOW_CONTROL_ERROR", false},
	} {
		err := fmt.Errorf("fetch: GET /api/v2/conversations/messages/c1: %w", errors.New(tc.err))
		if got := retryableErr(err); got != tc.want {
			t.Errorf("%q: retryable %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestUnavailableShortRetryAfterLateInCall: a call that has spent 9.5
// minutes on 503s (each Retry-After within MaxRetryAfter) gets one more
// 503 with Retry-After: 60. Waiting would take it past MaxElapsed, so
// that call fails alone, with its 503; no client is stopped, and the next
// call is sent and served. Before, the check added the Retry-After to
// the time the call had spent, and this short wait stopped every client
// (the export recorded stopped) though the Retry-After itself was short.
func TestUnavailableShortRetryAfterLateInCall(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var failing atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/messages/m2") {
			writeJSON(w, 200, `{"id":"m2","timestamp":"2025-03-01T12:00:00Z"}`)
			return
		}
		// 170 s three times, then 60 s: the fifth answer comes at 9.5 min.
		ra := "170"
		if failing.Add(1) > 3 {
			ra = "60"
		}
		w.Header().Set("Retry-After", ra)
		writeJSON(w, 503, `{"message":"Service unavailable","code":"service.unavailable","status":503,"contextId":"c","details":[],"errors":[]}`)
	})
	c := f.client(clk, func(cfg *Config) { cfg.MaxAttempts = 10 })
	ctx := context.Background()
	_, _, err := c.GetMessage(ctx, "c1", "m1")
	var dl *DailyLimitError
	if errors.As(err, &dl) {
		t.Fatalf("err = %v: a 60 s Retry-After stopped every client", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v, want the call's 503, given up at its time limit", err)
	}
	if n, spent := failing.Load(), clk.Now().Sub(t0); n != 5 || spent != 570*time.Second {
		t.Fatalf("%d requests over %s, want 5 over 9m30s", n, spent)
	}
	if _, _, err := c.GetMessage(ctx, "c1", "m2"); err != nil {
		t.Fatalf("the next call: %v, want it sent and served", err)
	}
}
