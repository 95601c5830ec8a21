package sim

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: capacity perMinute, refilled evenly at
// perMinute/60 tokens a second. It starts full.
type bucket struct {
	perMinute int
	tokens    float64
	last      time.Time
}

func (b *bucket) rate() float64 { return float64(b.perMinute) / 60 } // tokens per second

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.tokens = float64(b.perMinute)
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = math.Min(float64(b.perMinute), b.tokens+d*b.rate())
	}
	if now.After(b.last) {
		b.last = now
	}
}

type bucketKey struct {
	token, route string
}

// limiter holds the buckets: one per token, one per OAuth client (all its
// tokens together), and one per token and route for routes with their own
// limit. Every bucket that applies must have a token for a request to pass.
type limiter struct {
	perMinute int
	perClient int
	endpoint  map[string]int
	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
}

func (l *limiter) init(perMinute, perClient int, endpoint map[string]int) {
	l.perMinute = max(perMinute, 0)
	l.perClient = max(perClient, 0)
	l.endpoint = endpoint
	l.buckets = map[bucketKey]*bucket{}
}

// limitResult is what a request learns from the limiter, for the headers:
// allowed (inin-ratelimit-allowed), used (inin-ratelimit-count, tokens
// spent and not yet refilled), reset (until the bucket is full again) and,
// when refused, wait (until a token is available: Retry-After).
type limitResult struct {
	on      bool
	ok      bool
	allowed int
	used    int
	reset   time.Duration
	wait    time.Duration
}

// take spends one token from every bucket that applies, or from none when
// any is empty (so a refused request costs nothing and a client honouring
// Retry-After gets through). The headers describe the tighter bucket.
func (l *limiter) take(tok, client, route string, now time.Time) limitResult {
	epm := l.endpoint[route]
	if l.perMinute == 0 && l.perClient == 0 && epm <= 0 {
		return limitResult{ok: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var bs []*bucket
	if l.perMinute > 0 {
		bs = append(bs, l.bucketFor(bucketKey{tok, ""}, l.perMinute))
	}
	if l.perClient > 0 {
		// "\x00" cannot start a token: the client's key never meets a token's.
		bs = append(bs, l.bucketFor(bucketKey{"\x00" + client, ""}, l.perClient))
	}
	if epm > 0 {
		bs = append(bs, l.bucketFor(bucketKey{tok, route}, epm))
	}
	res := limitResult{on: true, ok: true}
	for _, b := range bs {
		b.refill(now)
		if b.tokens < 1 {
			res.ok = false
		}
	}
	for _, b := range bs {
		if res.ok {
			b.tokens--
		} else if b.tokens < 1 {
			res.wait = max(res.wait, time.Duration((1-b.tokens)/b.rate()*float64(time.Second)))
		}
		missing := float64(b.perMinute) - b.tokens
		used := int(math.Ceil(missing - 1e-9))
		if res.allowed == 0 || b.perMinute-used < res.allowed-res.used {
			res.allowed, res.used = b.perMinute, used
			res.reset = time.Duration(missing / b.rate() * float64(time.Second))
		}
	}
	return res
}

func (l *limiter) bucketFor(k bucketKey, pm int) *bucket {
	b := l.buckets[k]
	if b == nil {
		b = &bucket{perMinute: pm}
		l.buckets[k] = b
	}
	return b
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
