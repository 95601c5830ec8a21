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

// minPacePerMinute is the floor the header tuning never goes below, so a
// hostile or odd inin-ratelimit-allowed cannot stall the run forever.
const minPacePerMinute = 1

// pacer is the one gate every API request of a Client passes: a token
// bucket (golang.org/x/time/rate) shared by all workers, a "paused until"
// time set by a 429 that holds back every worker, and a "stopped until"
// time set by a daily limit that makes every worker give up at once.
//
// All waits go through the Config.Sleep hook with the caller's ctx, and
// reservations use the Config.Now clock, so nothing here waits on
// context.Background or on wall time behind the tests' back.
type pacer struct {
	lim    *rate.Limiter
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	margin float64
	maxHdr time.Duration // longest pause taken from inin-ratelimit-reset
	log    *slog.Logger

	mu          sync.Mutex
	perMinute   float64 // current pace, requests per minute
	pausedUntil time.Time
	stopUntil   time.Time
	stopFor     time.Duration
}

func newPacer(cfg Config, log *slog.Logger) *pacer {
	pace := cfg.Rate * (1 - cfg.SafetyMargin)
	if !validRate(pace) {
		pace = DefaultRate * (1 - DefaultSafetyMargin)
	}
	return &pacer{
		lim:       rate.NewLimiter(perSecond(pace), 1),
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		margin:    cfg.SafetyMargin,
		maxHdr:    min(cfg.MaxRetryAfter, time.Minute), // a window is a minute: never pause longer on a header's word
		log:       log,
		perMinute: pace,
	}
}

func perSecond(perMinute float64) rate.Limit {
	if math.IsInf(perMinute, 1) {
		return rate.Inf
	}
	return rate.Limit(perMinute / 60)
}

// wait blocks until the caller may send one request: past any pause, then
// past its reservation in the token bucket. It returns ctx.Err() if ctx
// ends first, and a *DailyLimitError while a daily limit is in force.
func (p *pacer) wait(ctx context.Context) error {
	if err := p.waitGate(ctx); err != nil {
		return err
	}
	now := p.now()
	r := p.lim.ReserveN(now, 1)
	if !r.OK() {
		// Cannot happen with burst 1; kept so a future change fails loudly.
		return context.DeadlineExceeded
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			r.CancelAt(p.now())
			return err
		}
	}
	// A 429 may have paused everyone while this caller slept.
	return p.waitGate(ctx)
}

// waitGate sleeps until no pause is in force.
func (p *pacer) waitGate(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := p.now()
		p.mu.Lock()
		until, stop, stopFor := p.pausedUntil, p.stopUntil, p.stopFor
		p.mu.Unlock()
		if now.Before(stop) {
			return &DailyLimitError{RetryAfter: stopFor, Until: stop}
		}
		if !now.Before(until) {
			return nil
		}
		if err := p.sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// pause holds back every worker until t (a 429's Retry-After).
func (p *pacer) pause(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.pausedUntil) {
		p.pausedUntil = t
	}
}

// stop makes every later wait fail with a *DailyLimitError until t.
func (p *pacer) stop(t time.Time, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.stopUntil) {
		p.stopUntil, p.stopFor = t, d
	}
}

// observe tunes the pace from the inin-ratelimit-* headers of a response:
// an allowed count lower than the configured rate lowers the pace (never
// raises it above Config.Rate), keeping the safety margin; a window already
// used up (count ≥ allowed) pauses everyone until it resets instead of
// spending a request on a 429.
func (p *pacer) observe(h http.Header) {
	allowed, ok := headerInt(h, genesys.HeaderRateLimitAllowed)
	if !ok || allowed <= 0 {
		return
	}
	target := math.Max(float64(allowed)*(1-p.margin), minPacePerMinute)
	now := p.now()
	p.mu.Lock()
	lowered := target < p.perMinute
	if lowered {
		p.perMinute = target
		p.lim.SetLimitAt(now, perSecond(target))
	}
	p.mu.Unlock()
	if lowered {
		p.log.Info("fetch: lowering request pace to the server's limit", "allowed_per_min", allowed, "pace_per_min", target)
	}
	count, ok1 := headerInt(h, genesys.HeaderRateLimitCount)
	reset, ok2 := headerInt(h, genesys.HeaderRateLimitReset)
	if ok1 && ok2 && count >= allowed && reset > 0 {
		d := time.Duration(reset) * time.Second
		if d > p.maxHdr {
			d = p.maxHdr
		}
		p.pause(now.Add(d))
		p.log.Info("fetch: rate-limit window used up, pausing", "count", count, "allowed", allowed, "pause", d)
	}
}

// snapshot returns the current pace and pause.
func (p *pacer) snapshot() (perMinute float64, pausedUntil time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.perMinute, p.pausedUntil
}

// headerInt parses a non-negative integer header; ok is false if absent or bad.
func headerInt(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
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
