package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// unlimitedAllowed is the legacy inin-ratelimit-allowed when rate
// limiting is off.
const unlimitedAllowed = 100000

// apiHandler wraps an API route: correlation id, fault decision, bearer
// auth, rate limit, faults, then the handler, whose buffered response is
// written (or cut, for reset and truncate faults).
func (s *Server) apiHandler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		corr := s.correlationID()
		h := w.Header()
		h.Set(genesys.HeaderCorrelationID, corr)
		n := s.apiSeq.Add(1)
		s.stats.count(rt.pattern, false)

		var fault FaultRule
		faulted := false
		if len(s.faults.rules) > 0 {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
			if err != nil {
				return // the client went away
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			fault, faulted = s.faults.requestFault(n, requestKey(r, body))
		}
		if faulted && fault.Kind == FaultRevoke {
			s.revoke(r)
			s.stats.fault(rt.pattern, fault)
		}

		tok, client, ok := s.bearer(r)
		if !ok {
			s.setRateHeaders(h, limitResult{allowed: s.limits.perMinute})
			msg := "Invalid login credentials."
			if tok == "" {
				msg = "No authentication bearer token specified in authorization header."
			}
			s.finish(w, rt.pattern, http.StatusUnauthorized, errorBody(http.StatusUnauthorized, genesys.CodeBadCredentials, msg, corr))
			return
		}
		if s.daily() {
			// The legacy headers describe the daily limit: used up, and
			// available again when Retry-After says.
			wait := s.opts.DailyRetryAfter
			s.setRateHeaders(h, limitResult{on: true, allowed: s.opts.DailyLimit, used: s.opts.DailyLimit, reset: wait})
			s.tooMany(w, rt.pattern, corr, wait)
			return
		}
		lr := s.limits.take(tok, client, rt.pattern, s.now())
		s.setRateHeaders(h, lr)
		if !lr.ok {
			s.tooMany(w, rt.pattern, corr, lr.wait)
			return
		}

		if faulted {
			switch fault.Kind {
			case Fault500, Fault502, Fault503, Fault504:
				s.stats.fault(rt.pattern, fault)
				code, _ := strconv.Atoi(fault.Kind)
				s.finish(w, rt.pattern, code, errorBody(code, "internal.server.error", "The server encountered an unexpected error (injected fault).", corr))
				return
			case Fault429:
				s.stats.fault(rt.pattern, fault)
				s.tooMany(w, rt.pattern, corr, time.Second)
				return
			case FaultEcho:
				if s.echoAPI(w, r, rt.pattern, tok, fault) {
					return
				}
				faulted = false
			case FaultSlow:
				s.stats.fault(rt.pattern, fault)
				if !sleepCtx(r.Context(), fault.Delay) {
					return // the client gave up: nothing happens
				}
				faulted = false
			case FaultReset, FaultTruncate:
				faulted = !rt.mutates // never cut a response whose request changed state
			default:
				faulted = false
			}
		}

		out := &resp{header: h, corr: corr, strict: !s.opts.LenientBodies, body: getBuf()}
		defer putBuf(out.body)
		rt.h(out, r)
		if out.status == 0 {
			out.status = http.StatusOK
		}
		body := out.body.Bytes()
		if faulted && out.status < 300 && len(body) > 1 {
			s.stats.fault(rt.pattern, fault)
			if fault.Kind == FaultReset {
				s.stats.statusKey(rt.pattern, "reset")
				resetAfter(w, out.status, h, body)
				return
			}
			body = body[:len(body)/2]
		}
		s.stats.status(rt.pattern, out.status)
		if len(body) > 0 || out.status != http.StatusNoContent {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(out.status)
		_, _ = w.Write(body)
	})
}

// requestKey identifies a request for fault decisions.
func requestKey(r *http.Request, body []byte) uint64 {
	return hashString(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + "\x00" + string(body))
}

func (s *Server) finish(w http.ResponseWriter, pattern string, status int, body genesys.ErrorBody) {
	s.stats.status(pattern, status)
	writeErrorTo(w, status, body.Code, body.Message, body.ContextID)
}

// tooMany writes the Genesys 429.
func (s *Server) tooMany(w http.ResponseWriter, pattern, corr string, wait time.Duration) {
	secs := max(ceilSeconds(wait), 1)
	s.stats.limited(pattern)
	w.Header().Set(genesys.HeaderRetryAfter, strconv.Itoa(secs))
	s.finish(w, pattern, http.StatusTooManyRequests, errorBody(http.StatusTooManyRequests, genesys.CodeTooManyRequests,
		fmt.Sprintf("Rate limit exceeded the maximum. Retry the request in [%d] seconds", secs), corr))
}

// setRateHeaders sets the inin-ratelimit-* headers Genesys removed in
// 2021, only when Options.LegacyRateLimitHeaders asks for them.
func (s *Server) setRateHeaders(h http.Header, lr limitResult) {
	if !s.opts.LegacyRateLimitHeaders {
		return
	}
	allowed, used, reset := lr.allowed, lr.used, ceilSeconds(lr.reset)
	if !lr.on && allowed == 0 {
		allowed = unlimitedAllowed
	}
	h.Set(genesys.HeaderRateLimitCount, strconv.Itoa(used))
	h.Set(genesys.HeaderRateLimitAllowed, strconv.Itoa(allowed))
	h.Set(genesys.HeaderRateLimitReset, strconv.Itoa(reset))
}

// resetAfter sends the status line, headers and half the body, then resets
// the connection (TCP RST), as a proxy dying mid-response would.
func resetAfter(w http.ResponseWriter, status int, h http.Header, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// sleepCtx waits d or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
