package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// retryableStatus lists the statuses worth another attempt: the server or
// something in front of it failed transiently, or asked us to slow down.
// Every 5xx but 501 Not Implemented (which will not change) is here, as in
// the Genesys Go SDK; 408 because the server gave up waiting on us.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, // 408
		http.StatusTooManyRequests,     // 429: Retry-After honoured
		http.StatusInternalServerError, // 500
		http.StatusBadGateway,          // 502
		http.StatusServiceUnavailable,  // 503: Retry-After honoured
		http.StatusGatewayTimeout:      // 504
		return true
	case http.StatusNotImplemented: // 501
		return false
	}
	return status >= 500 && status <= 599
}

// shouldRetry decides whether a failed attempt is worth another, and how
// long the server asked us to wait (0: use the backoff). Nothing is retried
// once ctx is done. err is the transport or body-read error of the attempt
// (resp may be set with err when the body broke off); resp alone is a
// complete non-2xx answer.
func (c *Client) shouldRetry(ctx context.Context, resp *http.Response, err error) (bool, time.Duration) {
	if ctx.Err() != nil {
		return false, 0
	}
	if err != nil {
		return retryableErr(err), 0
	}
	if resp == nil || !retryableStatus(resp.StatusCode) {
		return false, 0
	}
	d, _ := parseRetryAfter(resp.Header, c.cfg.Now())
	return true, d
}

// retryableErr lists the transport and body errors worth another attempt.
func retryableErr(err error) bool {
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrMalformedBody): // a 2xx body that is not JSON: truncated or garbled on the way
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF): // body or response cut short
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.Is(err, context.DeadlineExceeded): // the per-attempt timeout (the caller's ctx was checked first)
		return true
	case unreachableErr(err): // not connected: refused, DNS, TLS, connect timeout (a host down, or a blip)
		return true
	case http2Transient(err):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return false
}

// http2Transient reports whether err is an HTTP/2 stream reset or a
// connection the server closed (GOAWAY) — a load balancer dropping a
// stream mid-body, or shutting a connection down: as transient as a TCP
// reset. net/http's HTTP/2 errors are unexported types (h2_bundle.go), so
// their text is matched: "stream error: stream ID n; CODE[; cause]" for
// the stream codes a peer sends when it gave up on the stream, not on
// the request (a PROTOCOL_ERROR or FLOW_CONTROL_ERROR would come again),
// and the messages of a connection lost or closed by GOAWAY.
func http2Transient(err error) bool {
	msg := err.Error()
	if i := strings.Index(msg, "stream error: stream ID "); i >= 0 {
		for _, code := range []string{"; INTERNAL_ERROR", "; REFUSED_STREAM", "; CANCEL", "; ENHANCE_YOUR_CALM"} {
			if strings.Contains(msg[i:], code) {
				return true
			}
		}
		return false
	}
	for _, s := range []string{
		"http2: server sent GOAWAY and closed the connection",
		"http2: Transport received Server's graceful shutdown GOAWAY",
		"http2: client connection lost",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// backoff is the wait before retry n (1-based): full jitter over a capped
// exponential, so concurrent workers that failed together spread out.
func (c *Client) backoff(n int) time.Duration {
	if c.cfg.Backoff != nil {
		return c.cfg.Backoff(n)
	}
	return fullJitter(c.cfg.BackoffBase, c.cfg.BackoffCap, n)
}

// firstRetryDivisor: the first retry of a failure that is not a 429 (a
// 5xx, a reset, a truncated body) waits up to BackoffBase/5 (100 ms by
// default), not BackoffBase. Such failures are mostly one-off (a gateway
// 502, a connection dropped): an early second attempt usually succeeds,
// as Go's own transport assumes when it resends at once on a reused
// connection that broke. Retries from the second on wait as before, so
// a failing API is still backed off from, and the wait a call may reach
// over all its attempts barely changes. A 429 without Retry-After keeps
// the full base: there the server said it is overloaded.
const firstRetryDivisor = 5

// failureBackoff is the wait before retry n (1-based) of a failure that
// is not a 429: backoff, the first one shorter (firstRetryDivisor).
func (c *Client) failureBackoff(n int) time.Duration {
	if c.cfg.Backoff != nil || n > 1 {
		return c.backoff(n)
	}
	return fullJitter(c.cfg.BackoffBase/firstRetryDivisor, c.cfg.BackoffCap, 1)
}

func fullJitter(base, ceiling time.Duration, n int) time.Duration {
	d := ceiling
	if n < 1 {
		n = 1
	}
	if n < 31 {
		if e := base << (n - 1); e > 0 && e < ceiling {
			d = e
		}
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// noticeWait is the shortest wait said at info level even when its cause
// alone is not (a lone 5xx or 429): a run that goes quiet for longer looks
// hung.
const noticeWait = 5 * time.Second

// logRetry says that an attempt failed and when the next one is due, with
// the host, so that someone whose network or API is down sees it within
// seconds instead of after the last attempt. A failure with no answer at
// all (transport: refused, reset, timed out), every repeated failure of a
// call and every wait of noticeWait or more (a 5xx's Retry-After) are
// logged at info; one status the server answered (a lone 5xx or 429)
// retried sooner stays at debug, as a long run meets hundreds and each is
// retried without harm. paused: the pacer has already said why and how
// long everyone waits (a paced 429), so the wait alone raises nothing.
func (c *Client) logRetry(ctx context.Context, r request, shown string, attempt int, wait time.Duration, transport, paused bool, cur error) {
	level := slog.LevelDebug
	if transport || attempt > 1 || (wait >= noticeWait && !paused) {
		level = slog.LevelInfo
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	next := c.cfg.Now().Add(wait)
	c.log.Log(ctx, level, "fetch: request failed, retrying",
		"host", c.red.Redact(r.host()), "method", r.method, "path", shown,
		"attempt", fmt.Sprintf("%d/%d", attempt, c.cfg.MaxAttempts),
		"retry_in", wait.Round(time.Millisecond).String(),
		"retry_at", next.Format("15:04:05Z07:00"),
		"error", cur.Error())
}

// logSlow says that an attempt has had no answer (no response headers)
// for SlowNotice: a black-holed network gives no error until
// RequestTimeout. A body that is merely slow to arrive is not reported:
// it is an answer, and progress shows it. Concurrent workers share one
// line per SlowNotice.
func (c *Client) logSlow(r request, host string) {
	now := time.Now().UnixNano()
	last := c.slowAt.Load()
	if last != 0 && now-last < int64(c.cfg.SlowNotice) {
		return
	}
	if !c.slowAt.CompareAndSwap(last, now) {
		return
	}
	c.log.Info("fetch: no answer yet, still waiting",
		"host", c.red.Redact(host), "method", r.method, "route", r.route,
		"waited", c.cfg.SlowNotice.String(), "gives_up_after", c.cfg.RequestTimeout.String())
}

// host is the host a request goes to, for logs.
func (r *request) host() string {
	if r.abs != nil {
		return r.abs.Host
	}
	if u, err := url.Parse(r.base); err == nil {
		return u.Host
	}
	return ""
}
