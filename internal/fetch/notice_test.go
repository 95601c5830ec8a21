package fetch

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSink is a slog sink that keeps each line and signals on a channel
// when a line holding want is written.
type lineSink struct {
	mu    sync.Mutex
	lines []string
	want  string
	seen  chan struct{}
	once  sync.Once
}

func newLineSink(want string) *lineSink { return &lineSink{want: want, seen: make(chan struct{})} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.lines = append(s.lines, string(p))
	s.mu.Unlock()
	if s.want != "" && strings.Contains(string(p), s.want) {
		s.once.Do(func() { close(s.seen) })
	}
	return len(p), nil
}

func (s *lineSink) matching(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// infoLogger logs at the CLI's default level, info.
func infoLogger(s *lineSink) *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// deadAddr is a local address nothing listens on: connecting is refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnreachableLogsEachRetry: with the API unreachable, the first failed
// attempt is logged, with the host and when the next attempt is due,
// before the client waits to retry, and so is every later retry: a
// newcomer sees why nothing happens within seconds, not after the last
// attempt.
func TestUnreachableLogsEachRetry(t *testing.T) {
	addr := deadAddr(t)
	sink := newLineSink("")
	clk := newFakeClock()
	var beforeWait []int // retry lines already logged at each wait
	clk.onSleep = func(time.Duration) {
		beforeWait = append(beforeWait, len(sink.matching("fetch: request failed, retrying")))
	}
	c, err := New(Config{
		ClientID: testID, ClientSecret: testSecret,
		APIURL: "http://" + addr, LoginURL: "http://" + addr,
		Rate: math.Inf(1), MaxAttempts: 3, Logger: infoLogger(sink),
		Now: clk.Now, Sleep: clk.Sleep, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.GetConversation(context.Background(), "c1")
	if err == nil {
		t.Fatal("GetConversation succeeded against a closed port")
	}
	lines := sink.matching("fetch: request failed, retrying")
	if len(lines) != 2 {
		t.Fatalf("%d retry lines at info, want 2 (attempts 1/3 and 2/3):\n%s", len(lines), strings.Join(sink.lines, ""))
	}
	for i, l := range lines {
		for _, want := range []string{"level=INFO", "host=" + addr, "attempt=" + []string{"1/3", "2/3"}[i], "retry_in=", "retry_at=", "connection refused"} {
			if !strings.Contains(l, want) {
				t.Errorf("retry line %d lacks %q: %s", i+1, want, l)
			}
		}
	}
	// Ordering, not timing: each wait began after its line was written.
	if len(beforeWait) != 2 || beforeWait[0] != 1 || beforeWait[1] != 2 {
		t.Errorf("retry lines logged before each wait: %v, want [1 2]", beforeWait)
	}
	if strings.Contains(strings.Join(sink.lines, ""), testSecret) {
		t.Error("a log line holds the client secret")
	}
}

// TestBlackHoleLogsWhileWaiting: an endpoint that accepts connections and
// never answers gives no error until RequestTimeout; a line says so while
// the attempt is still waiting.
func TestBlackHoleLogsWhileWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, cn := range conns {
			cn.Close()
		}
	}()
	sink := newLineSink("fetch: no answer yet, still waiting")
	url := "http://" + ln.Addr().String()
	c, err := New(Config{
		AccessToken: "tok", APIURL: url, LoginURL: url, Rate: math.Inf(1), MaxAttempts: 1,
		RequestTimeout: time.Minute, SlowNotice: 10 * time.Millisecond, Logger: infoLogger(sink),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := c.GetConversation(ctx, "c1")
		done <- err
	}()
	select {
	case <-sink.seen:
	case err := <-done:
		cancel()
		t.Fatalf("the call ended (%v) before any line said it was waiting:\n%s", err, strings.Join(sink.lines, ""))
	}
	select {
	case err := <-done:
		t.Fatalf("the call ended (%v): the endpoint should still be silent", err)
	default:
	}
	cancel()
	<-done
	l := sink.matching("no answer yet")[0]
	for _, want := range []string{"level=INFO", "host=" + ln.Addr().String(), "method=GET", "gives_up_after=1m0s"} {
		if !strings.Contains(l, want) {
			t.Errorf("waiting line lacks %q: %s", want, l)
		}
	}
	if strings.Contains(strings.Join(sink.lines, ""), "tok") && strings.Contains(strings.Join(sink.lines, ""), "Bearer") {
		t.Error("a log line holds the bearer token")
	}
}

// TestLoneStatusRetryQuiet: one 503 the server answered, retried with
// success, stays at debug: long runs meet hundreds.
func TestLoneStatusRetryQuiet(t *testing.T) {
	f := newFakeAPI(t, failThen(1, status(http.StatusServiceUnavailable), okConversation))
	sink := newLineSink("")
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = infoLogger(sink) })
	if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if l := sink.matching("retrying"); len(l) != 0 {
		t.Errorf("a lone 503 logged at info: %v", l)
	}
	// Twice in a row is worth a line.
	f2 := newFakeAPI(t, failThen(2, status(http.StatusServiceUnavailable), okConversation))
	sink2 := newLineSink("")
	c2 := f2.client(newFakeClock(), func(cfg *Config) { cfg.Logger = infoLogger(sink2) })
	if _, _, err := c2.GetConversation(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if l := sink2.matching("retrying"); len(l) != 1 || !strings.Contains(l[0], "attempt=2/") || !strings.Contains(l[0], "503") {
		t.Errorf("two 503s in a row: retry lines %v, want one for attempt 2", l)
	}
}
