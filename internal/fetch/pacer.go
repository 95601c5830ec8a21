package fetch

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/custodyhq/custody/internal/genesys"
)

// minPacePerMinute is the floor 429s never push the pace below, so a
// run keeps moving.
const minPacePerMinute = 1

// routeWindow is how far back the pacer counts each route's requests, to
// tell a route's own lower limit from the client's.
const routeWindow = time.Minute

// climb is how much a cut pace grows per request that got through, in
// requests a minute: one more a minute per minute at one request a second,
// slow enough that a pace just under a limit stays there for minutes.
const climb = 1.0 / 60

// jitterSlack is how much of a minute's allowance the bucket keeps back:
// a second's worth at the pace. A client's bucket of capacity C refilled
// at the limit's rate r sends at most C + r·t requests in any span t, and
// requests that reach the server up to J later than sent arrive at most
// C + r·(t + J) in a span t; a token-bucket limit of capacity C + r·J
// admits all of them. So a client pacing at the limit itself is never
// refused while network delays vary by less than jitterSlack, and the
// slack costs a second once per run instead of a share of every minute.
const jitterSlack = time.Second

// learnedMargin is how far below what got through a pace learned from a
// 429 is set: that rate was the server's answer, so pacing exactly at it
// would meet the same refusal again.
const learnedMargin = 0.03

// minEvidence is how many requests a route must have carried in the last
// minute for one of its 429s to set its own pace: fewer say nothing about
// its limit (a stray 429, another limit), and a pace learned from them
// would stall the route.
const minEvidence = 10

// routeShare: a 429 on a route that carried less than this share of the
// last minute's requests is taken for that route's own limit (the others
// got through), not the client's.
const routeShare = 0.5

// pacer is the one gate every API request of one OAuth client passes: a
// token bucket (golang.org/x/time/rate) shared by all workers, learned
// per-route buckets for routes with their own lower limit, a "paused
// until" time set by a 429 that holds back every worker, and a "stopped
// until" time set by a daily limit that makes every worker give up.
//
// Genesys sends no rate-limit headers (removed in 2021), so the pace comes
// from the budget (Config.Rate×(1−SafetyMargin), or the org's effective
// limits when they could be read; no margin by default) and from 429s. The
// bucket starts full with a minute's worth at that pace less a second's
// worth (jitterSlack): the allowance a per-minute limit grants a fresh
// token, spent as a burst by all workers together, then refilled at the
// pace. Such a bucket never exceeds a token-bucket limit of Rate a minute,
// even when network delays bunch its requests up on the way.
//
// A 429 says the server grants less than assumed. Every worker waits its
// Retry-After; the bucket is emptied as of the end of the pause but for one
// request (the next requests go at the pace, not in a burst saved up while
// paused); the burst capacity halves. What got through in the last minute
// bounds what the server grants a minute: when it is below the pace, the
// pace comes down to it less learnedMargin, by at most half per 429 (so the
// pace converges on the limit in a few steps, and a stray 429 early in a
// run does not collapse it); with no burst left and no such bound, the
// pace is cut by a quarter. A 429 on a route that carried a minority of the last
// minute's requests is that route's: the client's pace is left alone. The
// second such 429 within a minute (on a route with enough requests to learn
// from) gives the route its own bucket at what got through on it in the
// last minute, less learnedMargin, cut by a quarter at each further 429
// on it — unless another route was refused within the minute too, or the
// route's pace does not bind (clientWide): then the limit is the
// client's. A pause renews the buckets (renewBuckets): places taken
// before it are taken again after it.
// A cut pace climbs back slowly (climb per success) towards the budget.
// See docs/fetch.md.
//
// All waits go through the Config.Sleep hook with the caller's ctx, and
// reservations use the Config.Now clock.
type pacer struct {
	lim     *rate.Limiter
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	log     *slog.Logger
	name    string // the OAuth client, for logs ("" for the only one)
	initial int    // the first burst (the allowance a fresh token is granted)

	mu          sync.Mutex
	ceiling     float64 // the budget, requests per minute (+Inf: unlimited)
	perMinute   float64 // the current pace
	burst       int     // the current burst capacity
	pausedUntil time.Time
	stopUntil   time.Time
	stopFor     time.Duration
	stopStatus  int       // the status that stopped it (DailyLimitError.Status)
	last        time.Time // the latest time the buckets were given (clock)
	routes      map[string]*routeLimit
	strikes     map[string]time.Time   // per route: its last 429 not yet learned from
	refusedAt   map[string]time.Time   // per route: its last 429, whatever was decided
	pauses      uint64                 // 429 pauses begun so far (see finish)
	outstanding int                    // places taken in the client's bucket and not yet used or given up
	recent      map[string][]time.Time // per route: send times within routeWindow
	total       int                    // sends within routeWindow, all routes
}

// routeLimit is a learned limit of one route, lower than the client's.
type routeLimit struct {
	lim       *rate.Limiter
	perMinute float64
	ceiling   float64 // where it climbs back to: the client's budget (the guess may be wrong)
}

func newPacer(cfg Config, log *slog.Logger) *pacer {
	pace := cfg.Rate * (1 - cfg.SafetyMargin)
	if !validRate(pace) {
		pace = DefaultRate
	}
	burst := 1
	switch {
	case cfg.Burst > 0:
		burst = cfg.Burst
	case !math.IsInf(pace, 1):
		burst = minuteAllowance(pace)
	}
	return &pacer{
		lim:       rate.NewLimiter(perSecond(pace), burst),
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		ceiling:   pace,
		log:       log,
		perMinute: pace,
		burst:     burst,
		initial:   burst,
		routes:    map[string]*routeLimit{},
		strikes:   map[string]time.Time{},
		refusedAt: map[string]time.Time{},
		recent:    map[string][]time.Time{},
	}
}

// minuteAllowance is the burst of a bucket paced at perMinute: a minute's
// worth less jitterSlack's worth, at least 1.
func minuteAllowance(perMinute float64) int {
	return max(int(perMinute)-int(math.Ceil(perMinute/60*jitterSlack.Seconds())), 1)
}

func perSecond(perMinute float64) rate.Limit {
	if math.IsInf(perMinute, 1) {
		return rate.Inf
	}
	return rate.Limit(perMinute / 60)
}

// setBudget replaces the budget (requests per minute, any margin already
// taken off), e.g. with the org's effective limit read at start: the
// bucket becomes a minute's allowance at the new pace, less what was already
// spent from it. After a 429 the pacer has learned better: only the
// ceiling moves.
func (p *pacer) setBudget(pace float64) {
	if !validRate(pace) || math.IsInf(pace, 1) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if !p.pausedUntil.IsZero() {
		p.ceiling = pace
		p.perMinute = math.Min(p.perMinute, pace)
		p.lim.SetLimitAt(now, perSecond(p.perMinute))
		return
	}
	spent := float64(p.burst) - p.lim.TokensAt(now)
	burst := minuteAllowance(pace)
	p.ceiling, p.perMinute, p.burst, p.initial = pace, pace, burst, burst
	p.lim = rate.NewLimiter(perSecond(pace), burst)
	if n := min(int(math.Ceil(spent)), burst); n > 0 {
		p.lim.ReserveN(now, n)
	}
}

// delay reports how long a request on route would wait now, without
// reserving anything: for choosing among several clients.
func (p *pacer) delay(route string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if now.Before(p.stopUntil) {
		return time.Duration(math.MaxInt64)
	}
	d := time.Duration(0)
	if now.Before(p.pausedUntil) {
		d = p.pausedUntil.Sub(now)
	}
	lim := p.lim
	if rl := p.routes[route]; rl != nil {
		lim = rl.lim
	}
	if tok := lim.TokensAt(now); tok < 1 && lim.Limit() > 0 && lim.Limit() != rate.Inf {
		d = max(d, time.Duration((1-tok)/float64(lim.Limit())*float64(time.Second)))
	}
	return d
}

// wait blocks until the caller may send one request on route: past any
// pause, then past its reservation in the client's bucket and the route's
// own. It returns ctx.Err() if ctx ends first, and a *DailyLimitError
// while a daily limit is in force.
func (p *pacer) wait(ctx context.Context, route string) error {
	if err := p.waitGate(ctx); err != nil {
		return err
	}
	rs, epoch := p.reserve(route)
	return p.finish(ctx, route, rs, epoch)
}

// reserve takes one token from the client's bucket and the route's own,
// without waiting; finish waits for them.
func (p *pacer) reserve(route string) ([]*rate.Reservation, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	rs := []*rate.Reservation{p.lim.ReserveN(now, 1)}
	if rl := p.routes[route]; rl != nil {
		rs = append(rs, rl.lim.ReserveN(now, 1))
	}
	p.outstanding++
	return rs, p.pauses
}

// release counts one place taken by reserve as used or given up.
func (p *pacer) release() {
	p.mu.Lock()
	p.outstanding--
	p.mu.Unlock()
}

// renewBuckets gives the client and every route fresh buckets at their
// pace and burst when a pause begins (under p.mu). Every place taken
// before the pause is taken again after it (finish), so the old places
// must not stay in the bucket's timeline: dropped there, sixteen workers'
// places kept the first request after a 1 s pause waiting 18 s behind
// them. The client's fresh bucket holds what the old one would have held
// without them (its tokens now plus the places outstanding), so a pause
// costs no allowance by itself; the branches of refused then drain it as
// they decide.
func (p *pacer) renewBuckets(now time.Time) {
	burst := p.lim.Burst()
	have := math.Min(math.Max(p.lim.TokensAt(now)+float64(p.outstanding), 0), float64(burst))
	fresh := rate.NewLimiter(p.lim.Limit(), burst)
	if n := burst - int(have); n > 0 {
		fresh.ReserveN(now, n)
	}
	p.lim = fresh
	for _, rl := range p.routes {
		rl.lim = rate.NewLimiter(rl.lim.Limit(), rl.lim.Burst())
	}
}

// finish sleeps until the reservations are due and no pause is in force,
// then counts the request as sent.
func (p *pacer) finish(ctx context.Context, route string, rs []*rate.Reservation, epoch uint64) error {
	defer p.release()
	for {
		now := p.now()
		var d time.Duration
		for _, r := range rs {
			if !r.OK() {
				return context.DeadlineExceeded // cannot happen with a burst ≥ 1
			}
			d = max(d, r.DelayFrom(now))
		}
		if d > 0 {
			if err := p.sleep(ctx, d); err != nil {
				p.cancel(rs)
				return err
			}
		}
		// A 429 may have paused everyone while this caller slept.
		if err := p.waitGate(ctx); err != nil {
			return err
		}
		p.mu.Lock()
		paused := p.pauses != epoch
		p.mu.Unlock()
		if !paused {
			break
		}
		// The reservation was made before a 429 paused everyone: it came
		// from an allowance the server just said was too much. Every
		// worker holding one would otherwise send at the pause's end, at
		// once, and meet the next 429 (a 60/min token: ten requests in
		// 7 ms after each pause, the pace cut by a quarter each time). So
		// it is dropped (the pause gave the bucket a fresh timeline
		// without it: renewBuckets) and the request waits its turn at
		// the new pace.
		p.release()
		rs, epoch = p.reserve(route)
	}
	p.sent(route, p.now())
	return nil
}

// cancel gives back the tokens of reservations not used.
func (p *pacer) cancel(rs []*rate.Reservation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	for _, r := range rs {
		r.CancelAt(now)
	}
}

// clock is the time every call into the buckets is given (under p.mu):
// Config.Now, but never earlier than the last time given. A rate.Limiter
// told an earlier time than its last moves its last back, and then counts
// the time between again at the next call: tokens granted twice. Read
// under p.mu, the clock reaches the buckets in the order of the calls (a
// worker that read it and then waited for p.mu went back in time, and
// TestSeveralClientsShareTheWork met 429s); the floor keeps a wall clock
// stepped back from doing the same.
func (p *pacer) clock() time.Time {
	now := p.now()
	if now.Before(p.last) {
		return p.last
	}
	p.last = now
	return now
}

// sent counts one request on route in the recent window.
func (p *pacer) sent(route string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent[route] = append(p.recent[route], t)
	p.total++
	p.prune(t)
}

// prune drops sends older than routeWindow (under p.mu).
func (p *pacer) prune(now time.Time) {
	cut := now.Add(-routeWindow)
	for k, ts := range p.recent {
		i := 0
		for i < len(ts) && !ts[i].After(cut) {
			i++
		}
		if i > 0 {
			p.total -= i
			if i == len(ts) {
				delete(p.recent, k)
			} else {
				p.recent[k] = append(ts[:0], ts[i:]...)
			}
		}
	}
}

// waitGate sleeps until no pause is in force.
func (p *pacer) waitGate(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := p.now()
		p.mu.Lock()
		until, stop, stopFor, status := p.pausedUntil, p.stopUntil, p.stopFor, p.stopStatus
		p.mu.Unlock()
		if now.Before(stop) {
			return &DailyLimitError{RetryAfter: stopFor, Until: stop, Status: status}
		}
		if !now.Before(until) {
			return nil
		}
		if err := p.sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// refused handles a 429 on route: every worker waits until t (its
// Retry-After); the first 429 of a pause also decides what was too fast.
func (p *pacer) refused(route string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	first := !now.Before(p.pausedUntil)
	if t.After(p.pausedUntil) {
		p.pausedUntil = t
	}
	if !first {
		return // one decision per pause, said when it was made
	}
	p.pauses++
	p.renewBuckets(now)
	// Every pause is said with its length and why: a long one at info, or
	// the run looks hung (Retry-After may be up to MaxRetryAfter).
	pause := t.Sub(now)
	level := slog.LevelDebug
	if pause >= noticeWait {
		level = slog.LevelInfo
	}
	tell := func(level slog.Level, msg string, args ...any) {
		p.log.Log(context.Background(), level, msg, append([]any{"client", p.name, "route", route,
			"pause", pause.Round(time.Second).String(), "until", t, "reason", "429 Too Many Requests"}, args...)...)
	}
	// A decision that changes a pace is said at info whatever the pause.
	say := func(msg string, args ...any) { tell(max(level, slog.LevelInfo), msg, args...) }
	if math.IsInf(p.ceiling, 1) {
		// An unlimited client relies on Retry-After alone.
		tell(level, "fetch: rate limited, pausing")
		return
	}
	p.prune(now)
	seen := len(p.recent[route])
	wide := p.clientWide(route, now)
	if wide {
		// Not one route's limit after all: the client's. What was learned
		// per route from these 429s is dropped (the pace must come down
		// for every route, or each keeps being refused and halved in turn,
		// down to a request a minute, while the client's pace never
		// moves), and the client's pace is cut below.
		clear(p.routes)
		clear(p.strikes)
	} else if rl := p.routes[route]; rl != nil {
		// The route's own limit again: lower it by a quarter, not half:
		// the pace it was given (what got through in the last minute, a
		// first minute's burst included) is near the limit, and a cut pace
		// climbs back slowly; halved, a route limited to 60 a minute ran
		// at 33 for the rest of the run.
		rl.perMinute = math.Max(rl.perMinute*3/4, minPacePerMinute)
		rl.lim.SetLimitAt(now, perSecond(rl.perMinute))
		drain(rl.lim, now, t)
		say("fetch: rate limited on a route with its own limit, slowing it down", "route_pace_per_min", rl.perMinute)
		return
	}
	if !wide && float64(seen) < routeShare*float64(p.total) {
		last := p.strikes[route]
		p.strikes[route] = now
		if seen < minEvidence || last.IsZero() || now.Sub(last) > routeWindow {
			// One 429, or too few requests on the route to learn its limit
			// from: a stray 429 (another limit, a hiccup) looks the same. The
			// pause was honoured, and that is all; a second one within the
			// minute sets the route's pace.
			tell(level, "fetch: rate limited, pausing", "pace_per_min", p.perMinute)
			return
		}
		// The other routes got through: this route has a lower limit. What
		// got through on the route in the last minute bounds what
		// the server grants it a minute, as the client's total bounds the
		// client's (a per-minute limit grants its allowance as a burst:
		// the rate over a burst's few seconds, which this was, said 300 or
		// 1,203 a minute for a route limited to 60, and the route's next
		// 429 was then taken for the client's). Never above the client's
		// pace: a route limit that does not bind is no limit.
		pm := math.Min(math.Max(float64(seen)*(1-learnedMargin), minPacePerMinute), p.perMinute)
		rl := &routeLimit{lim: rate.NewLimiter(perSecond(pm), 1), perMinute: pm, ceiling: p.ceiling}
		drain(rl.lim, now, t)
		p.routes[route] = rl
		say("fetch: rate limited on one route, giving it its own pace", "route_pace_per_min", pm)
		return
	}
	// The client's limit (a majority route refused, or clientWide). What
	// got through in the last minute bounds what the server grants a
	// minute: below the pace, the pace was too fast and
	// comes down towards it (less learnedMargin), by at most half at a time:
	// a 429 for another reason (a concurrency limit, a hiccup) early in a
	// run must not collapse the pace to the few requests sent so far.
	// Either way the burst overran.
	if got := float64(p.total - 1); got >= minPacePerMinute && got < p.perMinute {
		p.perMinute = math.Max(math.Max(got*(1-learnedMargin), p.perMinute/2), minPacePerMinute)
		p.lim.SetLimitAt(now, perSecond(p.perMinute))
	} else if p.burst <= 1 {
		p.perMinute = math.Max(p.perMinute*3/4, minPacePerMinute)
		p.lim.SetLimitAt(now, perSecond(p.perMinute))
	}
	p.burst = max(p.burst/2, 1)
	drain(p.lim, now, t)
	p.lim.SetBurstAt(now, p.burst)
	say("fetch: rate limited, pausing", "pace_per_min", p.perMinute, "burst", p.burst)
}

// clientWide reports whether a 429 on route, now, is the client's limit
// rather than the route's own, though the route carried a minority of the
// last minute's requests or has a pace of its own: another route that
// carried enough requests to learn from was refused within the last
// minute too (a limit shared by the routes, such as a token's limit
// below the budget or another program spending the same token's
// allowance, refuses each route in turn), or the route's own pace is not
// below the client's (it does not bind, so it cannot be what was
// exceeded). It records the 429 (under p.mu).
func (p *pacer) clientWide(route string, now time.Time) bool {
	defer func() { p.refusedAt[route] = now }()
	if rl := p.routes[route]; rl != nil && rl.perMinute >= p.perMinute {
		return true
	}
	for r, at := range p.refusedAt {
		if r != route && now.Sub(at) <= routeWindow && len(p.recent[r]) >= minEvidence {
			return true
		}
	}
	return false
}

// drain empties a bucket as of until (the end of the pause): after a 429
// the next requests go at the pace, not in a burst saved up while paused.
func drain(l *rate.Limiter, now, until time.Time) {
	// One token is left, as the server's Retry-After is the wait for one.
	// Counted uncapped: a bucket full now would otherwise lose the tokens
	// refilled during the pause to its cap here and hold them at its end
	// (two requests at once after a 1 s pause at 60 a minute).
	refill := float64(l.Limit()) * until.Sub(now).Seconds()
	if n := min(int(math.Floor(l.TokensAt(now)+refill-1)), l.Burst()); n > 0 {
		l.ReserveN(now, n)
	}
}

// succeeded lets a cut pace climb back, one request a minute per request
// that got through, up to where it was.
func (p *pacer) succeeded(route string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if p.perMinute < p.ceiling {
		p.perMinute = math.Min(p.perMinute+climb, p.ceiling)
		p.lim.SetLimitAt(now, perSecond(p.perMinute))
	}
	if rl := p.routes[route]; rl != nil && rl.perMinute < rl.ceiling {
		rl.perMinute = math.Min(rl.perMinute+climb, rl.ceiling)
		rl.lim.SetLimitAt(now, perSecond(rl.perMinute))
	}
}

// stop makes every later wait fail with a *DailyLimitError until t,
// saying status (the answer that asked for the wait d).
func (p *pacer) stop(t time.Time, d time.Duration, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.stopUntil) {
		p.stopUntil, p.stopFor, p.stopStatus = t, d, status
	}
}

// snapshot returns the current pace and pause.
func (p *pacer) snapshot() (perMinute float64, pausedUntil time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.perMinute, p.pausedUntil
}

// parseRetryAfter reads Retry-After as delta-seconds or an HTTP date
// (RFC 9110 §10.2.3); ok is false when absent or unparsable.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(genesys.HeaderRetryAfter))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		// Clamp absurd values instead of overflowing time.Duration.
		if n > int64(math.MaxInt64/int64(time.Second)) {
			n = math.MaxInt64 / int64(time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
