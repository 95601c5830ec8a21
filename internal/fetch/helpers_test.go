package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a virtual clock: Sleep advances it instead of waiting, so
// tests assert on virtual timestamps, never on wall time.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	sleeps  []time.Duration
	onSleep func(d time.Duration) // called outside the lock, before advancing
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if f.onSleep != nil {
		f.onSleep(d)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.t = f.t.Add(d)
	}
	return nil
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

const (
	testID     = "client-id-1"
	testSecret = "s3cr3t-Very-Private"
)

// fakeAPI is an httptest server with a token endpoint and a pluggable API
// handler. Tokens are "tok-1", "tok-2", … in order of issue.
type fakeAPI struct {
	t          *testing.T
	srv        *httptest.Server
	tokenCalls atomic.Int64
	apiCalls   atomic.Int64
	expiresIn  atomic.Int64
	tokenFn    func(w http.ResponseWriter, r *http.Request) bool // return true if handled
	mu         sync.Mutex
	handler    http.HandlerFunc
	lastTokReq *http.Request
	lastForm   string
}

func newFakeAPI(t *testing.T, h http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, handler: h}
	f.expiresIn.Store(86400)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/token" {
		if f.tokenFn != nil && f.tokenFn(w, r) {
			return
		}
		n := f.tokenCalls.Add(1)
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(r.Body)
		f.mu.Lock()
		f.lastTokReq = r
		f.lastForm = body.String()
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d}`, n, f.expiresIn.Load())
		return
	}
	f.apiCalls.Add(1)
	f.mu.Lock()
	h := f.handler
	f.mu.Unlock()
	h(w, r)
}

// testConfig is a Config for f with a fake clock, tiny backoff and no pacing.
func (f *fakeAPI) testConfig(clk *fakeClock) Config {
	return Config{
		ClientID:     testID,
		ClientSecret: testSecret,
		APIURL:       f.srv.URL,
		Rate:         math.Inf(1),
		Version:      "test",
		Now:          clk.Now,
		Sleep:        clk.Sleep,
		Backoff:      func(int) time.Duration { return time.Millisecond },
	}
}

func (f *fakeAPI) client(clk *fakeClock, mod ...func(*Config)) *Client {
	f.t.Helper()
	cfg := f.testConfig(clk)
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch v := v.(type) {
	case string:
		_, _ = w.Write([]byte(v))
	default:
		_ = json.NewEncoder(w).Encode(v)
	}
}

func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// logBuffer is a concurrency-safe slog sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func debugLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
