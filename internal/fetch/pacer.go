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

// pacer is the one gate every API request of a Client passes: a token
// bucket (golang.org/x/time/rate) shared by all workers, a "paused until"
// time set by a 429 that holds back every worker, and a "stopped until"
// time set by a daily limit that makes every worker give up at once.
//
// Genesys sends no rate-limit headers (removed in 2021), so the pace comes
// from Config alone, Rate×(1−SafetyMargin) requests per minute, and from
// 429s. The bucket starts full with a minute's worth at that pace: the
// allowance a per-minute limit grants a fresh token, so a run does not wait
// for requests it is owed. Such a bucket (capacity and refill below Rate a
// minute) never exceeds a token-bucket limit of Rate per minute. A server
// that counts otherwise (a fixed window), a route with a lower limit, or
// another user of the token answers 429: then every worker waits
// Retry-After, the burst ends for the rest of the run (at most Rate
// requests in any minute from then on, however the server counts), and the
// pace halves, once per pause, to climb back by one request a minute per
// success up to the configured pace. See docs/fetch.md.
//
// All waits go through the Config.Sleep hook with the caller's ctx, and
// reservations use the Config.Now clock, so nothing here waits on
// context.Background or on wall time behind the tests' back.
type pacer struct {
	lim     *rate.Limiter
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	ceiling float64 // the configured pace, requests per minute (+Inf: unlimited)
	log     *slog.Logger

	mu          sync.Mutex
	perMinute   float64 // the current pace
	pausedUntil time.Time
	stopUntil   time.Time
	stopFor     time.Duration
}

func newPacer(cfg Config, log *slog.Logger) *pacer {
	pace := cfg.Rate * (1 - cfg.SafetyMargin)
	if !validRate(pace) {
		pace = DefaultRate * (1 - DefaultSafetyMargin)
	}
	burst := 1
	switch {
	case cfg.Burst > 0:
		burst = cfg.Burst
	case !math.IsInf(pace, 1):
		burst = max(int(pace), 1)
	}
	return &pacer{
		lim:       rate.NewLimiter(perSecond(pace), burst),
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		ceiling:   pace,
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

// refused handles a 429: every worker waits until t (its Retry-After).
// The first 429 of a pause also halves the pace and ends the burst: the
// server has shown it grants less than the client assumed.
func (p *pacer) refused(t time.Time) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	first := !now.Before(p.pausedUntil)
	if t.After(p.pausedUntil) {
		p.pausedUntil = t
	}
	if !first || math.IsInf(p.ceiling, 1) {
		return // one halving per pause; an unlimited client relies on Retry-After alone
	}
	p.perMinute = math.Max(p.perMinute/2, minPacePerMinute)
	p.lim.SetLimitAt(now, perSecond(p.perMinute))
	p.lim.SetBurstAt(now, 1)
	p.log.Info("fetch: rate limited, pausing and slowing down", "until", t, "pace_per_min", p.perMinute)
}

// succeeded lets the pace climb back after a 429, one request a minute per
// request that got through, up to the configured pace.
func (p *pacer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.perMinute < p.ceiling {
		p.perMinute = math.Min(p.perMinute+1, p.ceiling)
		p.lim.SetLimitAt(p.now(), perSecond(p.perMinute))
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
