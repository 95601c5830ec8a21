package fetch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// arrivals records the virtual time at which each API request arrived.
type arrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *arrivals) add(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, t)
}

func (a *arrivals) list() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...)
}

func tooMany(retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", retryAfter)
		w.Header().Set("ININ-Correlation-Id", "corr-429")
		writeJSON(w, 429, `{"message":"Rate limit exceeded the maximum. Retry the request in [`+retryAfter+`] seconds","code":"too.many.requests.retry.after","status":429,"contextId":"corr-429","details":[],"errors":[]}`)
	}
}

func Test429PausesEveryWorker(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var arr arrivals
	var first atomic.Bool
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			tooMany("30")(w, r)
			return
		}
		arr.add(clk.Now())
		okConversation(w, r)
	})
	// One attempt only: worker A gets the 429 back without sleeping, so the
	// virtual clock stays at t0 until some worker waits at the gate.
	c := f.client(clk, func(cfg *Config) { cfg.MaxAttempts = 1 })
	ctx := context.Background()
	if _, _, err := c.GetConversation(ctx, "a"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	s := c.Stats()
	if s.RateLimited != 1 || s.Endpoints[RouteConversation].RateLimited != 1 {
		t.Errorf("RateLimited = %d", s.RateLimited)
	}
	if want := t0.Add(30 * time.Second); !s.PausedUntil.Equal(want) {
		t.Errorf("PausedUntil = %s, want %s", s.PausedUntil, want)
	}
	if !clk.Now().Equal(t0) {
		t.Fatalf("clock moved before the workers started")
	}

	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if _, _, err := c.GetConversation(ctx, fmt.Sprint("w", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := arr.list()
	if len(got) != 5 {
		t.Fatalf("%d requests arrived, want 5", len(got))
	}
	for _, at := range got {
		if at.Before(t0.Add(30 * time.Second)) {
			t.Errorf("a request arrived at t0+%s, during the 30s pause", at.Sub(t0))
		}
	}
	var paused bool
	for _, d := range clk.Sleeps() {
		paused = paused || d == 30*time.Second
	}
	if !paused {
		t.Errorf("no worker waited 30s at the gate: sleeps %v", clk.Sleeps())
	}
}

func Test429RetryAfterHonouredByTheRetryingWorker(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var arr arrivals
	var n atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		arr.add(clk.Now())
		if n.Add(1) == 1 {
			tooMany("42")(w, r)
			return
		}
		okConversation(w, r)
	})
	c := f.client(clk)
	_, resp, err := c.GetConversation(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	got := arr.list()
	if len(got) != 2 || !got[0].Equal(t0) || got[1].Sub(t0) != 42*time.Second {
		t.Errorf("arrivals at %v, want t0 and t0+42s", got)
	}
	if resp.Attempts != 2 {
		t.Errorf("attempts %d", resp.Attempts)
	}
	if s := c.Stats(); s.RateLimited != 1 || s.Retries != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDailyLimit(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter string
		want             time.Duration
	}{
		{"seconds", "3600", time.Hour},
		{"http date", "", 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			t0 := clk.Now()
			ra := tc.retryAfter
			if ra == "" {
				ra = t0.Add(tc.want).Format(http.TimeFormat)
			}
			f := newFakeAPI(t, tooMany(ra))
			c := f.client(clk)
			_, _, err := c.GetConversation(context.Background(), "c1")
			var dl *DailyLimitError
			if !errors.As(err, &dl) {
				t.Fatalf("err = %v, want *DailyLimitError", err)
			}
			if !errors.Is(err, ErrRateLimited) {
				t.Error("DailyLimitError does not match ErrRateLimited")
			}
			if dl.RetryAfter != tc.want || !dl.Until.Equal(t0.Add(tc.want)) || dl.CorrelationID != "corr-429" || dl.Path != "/api/v2/conversations/c1" {
				t.Errorf("DailyLimitError = %+v", dl)
			}
			if s := clk.Sleeps(); len(s) != 0 {
				t.Errorf("slept %v before giving up", s)
			}
			// Every later call stops at once, without a request.
			_, _, err = c.GetMessage(context.Background(), "c1", "m1")
			if !errors.As(err, &dl) || dl.Path != "/api/v2/conversations/messages/c1/messages/m1" {
				t.Errorf("second call: err = %v", err)
			}
			if f.apiCalls.Load() != 1 {
				t.Errorf("api calls %d, want 1", f.apiCalls.Load())
			}
		})
	}
}

// TestPaceSpacesRequests: the bucket starts with a minute's worth at the
// pace less a second's worth (59 of 60), then spaces requests evenly.
func TestPaceSpacesRequests(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var arr arrivals
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		arr.add(clk.Now())
		okConversation(w, r)
	})
	c := f.client(clk, func(cfg *Config) { cfg.Rate = 60 })
	for range 63 {
		if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range arr.list() {
		want := time.Duration(max(i-58, 0)) * time.Second
		if d := at.Sub(t0); d != want {
			t.Errorf("request %d at t0+%s, want t0+%s", i, d, want)
		}
	}
}

// TestPacingAtTheLimitAbsorbsJitter: paced at the budget itself, with no
// margin, a client's requests are all admitted by a token-bucket limit of
// that rate (capacity a minute's worth, starting full at the first
// arrival: the simulator's limit, and what a per-minute limit grants),
// however network delays that vary by less than jitterSlack reorder and
// bunch them on the way; the run takes the limit's time plus that second.
// Delays varying by more are refused some, which shows the server model
// tells an overrun.
func TestPacingAtTheLimitAbsorbsJitter(t *testing.T) {
	const perMinute, n = 300, 1200
	clk := newFakeClock()
	p := newPacer(Config{Rate: perMinute, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	sent := make([]time.Time, n)
	for i := range sent {
		if err := p.wait(context.Background(), "r"); err != nil {
			t.Fatal(err)
		}
		sent[i] = clk.Now()
	}
	limit := time.Duration(float64(n-perMinute) / perMinute * float64(time.Minute))
	if d := sent[n-1].Sub(sent[0]) - limit - jitterSlack; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("%d requests took %s, want the limit's %s and %s more", n, sent[n-1].Sub(sent[0]), limit, jitterSlack)
	}
	refused := func(delay func(i int) time.Duration) int {
		arr := make([]time.Time, n)
		for i, at := range sent {
			arr[i] = at.Add(delay(i))
		}
		slices.SortFunc(arr, time.Time.Compare)
		server := rate.NewLimiter(rate.Limit(perMinute/60.0), perMinute)
		k := 0
		for _, at := range arr {
			if !server.AllowN(at, 1) { // a refusal costs the server nothing
				k++
			}
		}
		return k
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]time.Duration, n)
	for j := range random {
		random[j] = time.Duration(rnd.Int64N(int64(jitterSlack)))
	}
	const most = jitterSlack - time.Millisecond
	for name, delay := range map[string]func(int) time.Duration{
		"none":                 func(int) time.Duration { return 0 },
		"each faster":          func(i int) time.Duration { return most * time.Duration(n-i) / n },
		"alternating":          func(i int) time.Duration { return most * time.Duration(i%2) },
		"burst late":           func(i int) time.Duration { return most * time.Duration(b2i(i < p.initial)) },
		"paced late, then not": func(i int) time.Duration { return most * time.Duration(b2i(i >= p.initial && i%2 == 0)) },
		"random":               func(i int) time.Duration { return random[i] },
	} {
		if k := refused(delay); k != 0 {
			t.Errorf("delays %s, up to %s: %d of %d requests refused", name, most, k, n)
		}
	}
	if k := refused(func(i int) time.Duration { return 3 * jitterSlack / 2 * time.Duration(n-i) / n }); k == 0 {
		t.Errorf("delays falling from %s to 0: nothing refused", 3*jitterSlack/2)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFirst429ShrinksTheBurst: a server that does not grant the first
// minute's burst (here: a fixed window of 300 that the burst overran)
// refuses once; every worker waits Retry-After, the requests after the
// pause go at the pace (no saved-up burst), the burst capacity halves and
// the pace comes down towards what got through in the last minute (199,
// less the margin: 193, above half the pace), then climbs slowly back
// towards the budget.
func TestFirst429ShrinksTheBurst(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var arr arrivals
	var n atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 200 {
			tooMany("10")(w, r)
			return
		}
		arr.add(clk.Now())
		okConversation(w, r)
	})
	c := f.client(clk, func(cfg *Config) { cfg.Rate = 300 })
	if got := c.Stats().PacePerMinute; got != 300 {
		t.Errorf("pace %v, want 300 (the budget, no margin)", got)
	}
	ctx := context.Background()
	for range 600 {
		if _, _, err := c.GetConversation(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	got := arr.list()
	if !got[198].Equal(t0) || got[199].Sub(t0) != 10*time.Second {
		t.Fatalf("request 199 at t0+%s, 200 at t0+%s: want the burst, then the 10 s pause", got[198].Sub(t0), got[199].Sub(t0))
	}
	after := got[199:]
	for i := range after {
		if i > 0 && !after[i].After(after[i-1]) {
			t.Fatalf("requests %d and %d after the pause at the same time: a burst", i-1, i)
		}
		j := i
		for j < len(after) && after[j].Sub(after[i]) < time.Minute {
			j++
		}
		if j-i > 300 {
			t.Fatalf("%d requests in the minute from t0+%s", j-i, after[i].Sub(t0))
		}
	}
	p := c.lanes[0].pacer
	if st := c.Stats(); st.RateLimited != 1 || st.Failures != 0 || st.PacePerMinute <= 199*0.97 || st.PacePerMinute > 199*0.97+402*climb || p.burst != 147 {
		t.Errorf("stats %+v burst %d, want one 429, the pace from 193 climbing and the burst halved to 147", st, p.burst)
	}
}

// TestConcurrent429sDecideOnce: workers refused together shrink the burst
// once; refusals once the burst is down to 1 cut the pace.
func TestConcurrent429sDecideOnce(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	for range 4 {
		p.refused("r", clk.Now().Add(5*time.Second))
	}
	if pace, until := p.snapshot(); pace != 300 || p.burst != 147 || !until.Equal(clk.Now().Add(5*time.Second)) {
		t.Fatalf("pace %v burst %d until %s", pace, p.burst, until)
	}
	for p.burst > 1 {
		clk.Sleep(context.Background(), 10*time.Second)
		p.refused("r", clk.Now().Add(time.Second))
	}
	clk.Sleep(context.Background(), 10*time.Second)
	p.refused("r", clk.Now().Add(time.Second))
	if pace, _ := p.snapshot(); pace != 300.0*3/4 {
		t.Fatalf("a 429 with no burst left: pace %v, want %v", pace, 300.0*3/4)
	}
}

// TestRouteOwnLimitLearned: a 429 on a route that carried a minority of
// the recent requests leaves the client's pace alone; a second within the
// minute gives that route its own pace, and the other routes do not slow
// down.
func TestRouteOwnLimitLearned(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	for i := range 100 {
		clk.Sleep(ctx, 600*time.Millisecond) // 100 a minute, 10 of them on "small"
		route := "big"
		if i%10 == 0 {
			route = "small"
		}
		if err := p.wait(ctx, route); err != nil {
			t.Fatal(err)
		}
	}
	p.refused("small", clk.Now().Add(time.Second))
	if pace, _ := p.snapshot(); pace != 300 || p.burst != 295 || p.routes["small"] != nil {
		t.Fatalf("client pace %v burst %d route %v changed by one 429 on a minority route", pace, p.burst, p.routes["small"])
	}
	clk.Sleep(ctx, time.Second)
	if err := p.wait(ctx, "small"); err != nil {
		t.Fatal(err)
	}
	p.refused("small", clk.Now().Add(time.Second))
	if pace, _ := p.snapshot(); pace != 300 || p.burst != 295 {
		t.Fatalf("client pace %v burst %d changed by one route's 429s", pace, p.burst)
	}
	rl := p.routes["small"]
	if rl == nil || rl.perMinute < 9.7 || rl.perMinute > 11 {
		t.Fatalf("route limit %+v, want about 9.7/min (the 10 seen in the last minute, less the margin)", rl)
	}
	t1 := clk.Now()
	for range 3 {
		if err := p.wait(ctx, "small"); err != nil {
			t.Fatal(err)
		}
	}
	if d := clk.Now().Sub(t1); d < 10*time.Second {
		t.Errorf("3 requests on the limited route took %s, want them paced at 9.7/min", d)
	}
	t2 := clk.Now()
	for range 50 {
		if err := p.wait(ctx, "big"); err != nil {
			t.Fatal(err)
		}
	}
	if d := clk.Now().Sub(t2); d > time.Second {
		t.Errorf("50 requests on another route took %s: the route's limit slowed the client", d)
	}
	p.refused("small", clk.Now().Add(time.Second))
	if rl.perMinute < 7.2 || rl.perMinute > 8.3 {
		t.Errorf("a further 429 on the route: pace %v, want it cut by a quarter", rl.perMinute)
	}
}

// TestRateLimitHeadersIgnored: the inin-ratelimit-* headers Genesys
// removed change nothing, even when a server still sends them.
func TestRateLimitHeadersIgnored(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	var arr arrivals
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		arr.add(clk.Now())
		w.Header().Set("inin-ratelimit-allowed", "60")
		w.Header().Set("inin-ratelimit-count", "60")
		w.Header().Set("inin-ratelimit-reset", "50")
		okConversation(w, r)
	})
	c := f.client(clk, func(cfg *Config) { cfg.Rate = 300 })
	for range 3 {
		if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range arr.list() {
		if !at.Equal(t0) {
			t.Errorf("a request at t0+%s: the headers paused the client", at.Sub(t0))
		}
	}
	if st := c.Stats(); st.PacePerMinute != 300 || !st.PausedUntil.IsZero() {
		t.Errorf("stats %+v", st)
	}
}

func TestPacerWaitHonoursContext(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(Config{Rate: 60, SafetyMargin: -1, Now: clk.Now, Sleep: sleepCtx}.withDefaults(), discard())
	p.refused("r", clk.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.wait(ctx, "r"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("wait ignored its context")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 42 ", 42 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999", time.Duration(math.MaxInt64/int64(time.Second)) * time.Second, true},
	} {
		h := http.Header{}
		if tc.in != "" {
			h.Set("Retry-After", tc.in)
		}
		got, ok := parseRetryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestPacerNeverGoesBackInTime: a clock read that is earlier than one the
// buckets were already given (a wall clock stepped back; before the clock
// was read under the pacer's lock, a worker preempted between reading it
// and reserving) grants no tokens twice. rate.Limiter moves its last time
// back when told an earlier one and counts the span again at the next
// call; the run above flaked so (TestSeveralClientsShareTheWork met 429s).
func TestPacerNeverGoesBackInTime(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	set := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = t0.Add(d)
	}
	p := newPacer(Config{Rate: 60, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}, Sleep: func(context.Context, time.Duration) error { return nil }}.withDefaults(), discard())
	var rs []*rate.Reservation
	take := func(n int) {
		for range n {
			r, _ := p.reserve("r")
			rs = append(rs, r...)
		}
	}
	take(minuteAllowance(60)) // the first minute's allowance, all at t0
	for round := range 5 {
		set(time.Duration(round+1) * 10 * time.Second)
		take(20)
		set(time.Duration(round) * 10 * time.Second) // stepped back 10 s
		take(1)
	}
	set(50 * time.Second)
	take(20)
	// By t0+60 s a bucket of 60 a minute grants its allowance and 60 more.
	due := 0
	for _, r := range rs {
		if r.DelayFrom(t0.Add(time.Minute)) == 0 {
			due++
		}
	}
	if want := minuteAllowance(60) + 60; due != want {
		t.Errorf("%d of %d requests due by t0+60s, want %d", due, len(rs), want)
	}
}

// TestLongPauseLogged: a pause of noticeWait or more is said at info, with
// its length, when it ends and why, whatever the pacer makes of the 429 (a
// lone 429 on a minority route changes no pace, and was said at no level);
// a wait on a 5xx's Retry-After is said at info on the first attempt too
// (it was at debug).
func TestLongPauseLogged(t *testing.T) {
	t.Run("stray 429", func(t *testing.T) {
		clk := newFakeClock()
		ctx := context.Background()
		var buf logBuffer
		p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(),
			slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
		for i := range 100 {
			clk.Sleep(ctx, 600*time.Millisecond)
			route := "big"
			if i%10 == 0 {
				route = "small"
			}
			if err := p.wait(ctx, route); err != nil {
				t.Fatal(err)
			}
		}
		p.refused("small", clk.Now().Add(90*time.Second))
		if got := buf.String(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "pause=1m30s") ||
			!strings.Contains(got, "until=") || !strings.Contains(got, `reason="429 Too Many Requests"`) {
			t.Errorf("a 90 s pause logged as %q", got)
		}
	})
	t.Run("5xx Retry-After", func(t *testing.T) {
		clk := newFakeClock()
		var n atomic.Int64
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				// Within MaxRetryAfter: waited for by the call (a longer
				// one stops every client).
				w.Header().Set("Retry-After", "120")
				writeJSON(w, 503, `{"message":"down","status":503}`)
				return
			}
			okConversation(w, r)
		})
		var buf logBuffer
		c := f.client(clk, func(cfg *Config) {
			cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		})
		if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); !strings.Contains(got, "retrying") || !strings.Contains(got, "retry_in=2m0s") || !strings.Contains(got, "attempt=1/") {
			t.Errorf("a 2 min wait on a 503 logged as %q", got)
		}
	})
}

// TestTokenLimitSharedByRoutes: a limit the routes share (a token's limit
// below the budget, another program spending the same token) refuses each
// route in turn. It is the client's: its pace comes down and no route
// keeps a pace of its own. Before, each 429 on a route that had carried a
// minority of the requests was taken for that route's own limit and
// halved it, the client's pace barely moving, so export's two routes
// (about half the requests each) were driven down to a request a minute.
func TestTokenLimitSharedByRoutes(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	send := func(n int) {
		for i := range n {
			clk.Sleep(ctx, 600*time.Millisecond) // 100 a minute, 49 % on "get"
			route := "bulk"
			if i%100 < 49 {
				route = "get"
			}
			if err := p.wait(ctx, route); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(100)
	// The server grants 60 a minute to the token: both routes are refused
	// in turn, "get" (the minority) twice first, as export saw.
	for _, route := range []string{"get", "get", "bulk", "get", "bulk", "get", "bulk", "get"} {
		p.refused(route, clk.Now().Add(time.Second))
		send(20)
	}
	pace, _ := p.snapshot()
	for r, rl := range p.routes {
		t.Errorf("route %q kept a pace of its own, %.1f a minute (client %.1f)", r, rl.perMinute, pace)
	}
	if pace > 100 || pace < 30 {
		t.Errorf("client pace %.1f a minute, want it brought down towards what got through (about 100 a minute, less), not collapsed", pace)
	}
}

// TestRoutePaceNeverAboveTheClients: a route's pace learned over a
// burst's short span is capped at the client's (above it, it would not
// bind); a 429 on a route whose pace does not bind is the client's.
func TestRoutePaceNeverAboveTheClients(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	p := newPacer(Config{Rate: 300, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	// The first minute's burst: 60 requests within a few seconds, 20 of
	// them on "bulk".
	for i := range 60 {
		route := "get"
		if i%3 == 0 {
			route = "bulk"
		}
		if err := p.wait(ctx, route); err != nil {
			t.Fatal(err)
		}
		clk.Sleep(ctx, 50*time.Millisecond)
	}
	p.refused("bulk", clk.Now().Add(time.Second))
	clk.Sleep(ctx, time.Second)
	p.refused("bulk", clk.Now().Add(time.Second))
	pace, _ := p.snapshot()
	rl := p.routes["bulk"]
	if rl == nil || rl.perMinute > pace {
		t.Fatalf("route pace %+v, client %.1f: want one, at most the client's", rl, pace)
	}
}

// sendAcrossAPause has n workers take their places on route "r", then a
// 429 pause p for 1 s, then each worker send in turn: it returns when each
// was sent, after the 429.
func sendAcrossAPause(t *testing.T, ctx context.Context, clk *fakeClock, p *pacer, n int) []time.Duration {
	t.Helper()
	type held struct {
		rs    []*rate.Reservation
		epoch uint64
	}
	var hs []held
	for range n {
		rs, epoch := p.reserve("r")
		hs = append(hs, held{rs, epoch})
	}
	t0 := clk.Now()
	p.refused("r", t0.Add(time.Second))
	var sent []time.Duration
	for _, h := range hs {
		if err := p.finish(ctx, "r", h.rs, h.epoch); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clk.Now().Sub(t0))
	}
	return sent
}

// TestReservationsBeforeAPauseWaitTheirTurn: requests that took their
// place from the allowance before a 429 do not all go at the pause's end
// (each would meet the next 429: against a 60/min token, ten requests
// within 7 ms after every pause, the pace cut by a quarter each time);
// they take new places at the pace. Before, all ten were sent at once.
func TestReservationsBeforeAPauseWaitTheirTurn(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	p := newPacer(Config{Rate: 60, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	sent := sendAcrossAPause(t, ctx, clk, p, 10) // ten workers, their places taken from the first burst
	atEnd := 0
	for _, d := range sent {
		if d <= time.Second {
			atEnd++
		}
	}
	if atEnd > 1 || sent[len(sent)-1] < 8*time.Second {
		t.Errorf("sent at %v after the 429: want one at the pause's end, the rest a second or more apart (60 a minute)", sent)
	}
}

// TestNoGapAfterAPause: the places workers took before a pause, taken
// again after it, leave no hole in the bucket's timeline: with the first
// minute's allowance spent and sixteen places taken, the first request
// after a 1 s pause goes at its end and the rest follow at the pace.
// Dropped in the old bucket, those sixteen places kept the first request
// waiting 18 s behind them (a reviewer's test of 70dd55a).
func TestNoGapAfterAPause(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	p := newPacer(Config{Rate: 60, Now: clk.Now, Sleep: clk.Sleep}.withDefaults(), discard())
	for range minuteAllowance(60) {
		if err := p.wait(ctx, "r"); err != nil {
			t.Fatal(err)
		}
	}
	sent := sendAcrossAPause(t, ctx, clk, p, 16)
	pace, _ := p.snapshot()
	if sent[0] > 2*time.Second || sent[15] > time.Second+time.Duration(16*float64(time.Minute)/pace) {
		t.Errorf("sent at %v after the 429 (pace %.1f a minute): want the first at the pause's end, the rest at the pace", sent, pace)
	}
	if p.outstanding != 0 {
		t.Errorf("%d places outstanding after every request went", p.outstanding)
	}
}
