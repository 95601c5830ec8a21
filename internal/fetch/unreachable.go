package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// unreachable tracks whether the API host can be reached at all, across
// every worker of a Client: a host that is down (refused, no DNS name, a
// TLS failure, connect timeouts) fails every call alike, and without it
// each conversation of a run would use up its own retries and be
// recorded failed in turn, for the same reason, after a long grind.
//
// The rule: streak counts the attempts to the API host in a row, across
// all workers, that failed to connect (unreachableErr); any attempt that
// reached the host (an answer, whatever its status, or a failure after
// connecting, such as a reset) sets it back to 0. A call that gives up —
// its retries used up, as for any failure — on such an error while the
// streak is at least Config.UnreachableAfter declares the host
// unreachable: it, every call still retrying and every later call to the
// API host return ErrAPIUnreachable at once, without a request. One
// flaky connection is retried per call as before and never trips it: it
// either recovers within the call's retries, or other workers' answers
// break the streak and only that call fails.
//
// A media host (pre-signed attachment URLs, which live elsewhere) is
// tracked the same way, each host on its own, but declaring one
// unreachable does not stop a run: downloads from it fail at once
// (ErrMediaUnreachable) instead of each using up its retries, so the
// conversations that need it fail quickly, naming it, and the others
// are captured. A host that only a few old attachments name may be gone
// for good, and a run that stopped on it could never finish.
type unreachable struct {
	streak atomic.Int64
	down   atomic.Pointer[unreachableError] // set once: the host was declared unreachable
	// wait, of a storage host, is when its 429 asking to wait longer
	// than MaxRetryAfter ends: until then its downloads fail without a
	// request (StorageWaitError), where each attachment on it would ask
	// again and be refused again (review-commits2 L5).
	wait atomic.Pointer[time.Time]
}

// unreachableError is ErrAPIUnreachable (or ErrMediaUnreachable) for one
// host, with the failure that decided it.
type unreachableError struct {
	media    bool // a media host, not the API host
	host     string
	attempts int64
	last     error
}

func (e *unreachableError) Error() string {
	if e.media {
		return fmt.Sprintf("fetch: the media host %s cannot be reached: %d attempts in a row, across all workers, failed to connect with no answer between (the last: %v); downloads from it fail at once for the rest of the run",
			e.host, e.attempts, e.last)
	}
	return fmt.Sprintf("fetch: the API host %s cannot be reached: %d attempts in a row, across all workers, failed to connect with no answer between (the last: %v); the run stops rather than fail each conversation in turn",
		e.host, e.attempts, e.last)
}

func (e *unreachableError) Unwrap() []error {
	if e.media {
		return []error{ErrMediaUnreachable, e.last}
	}
	return []error{ErrAPIUnreachable, e.last}
}

// toAPI reports whether r goes to the API host (not the login host, not
// a pre-signed media url).
func (c *Client) toAPI(r request) bool { return r.abs == nil && r.base == c.api }

// hostState is the reachability r's host is tracked in: the API host's,
// a media host's (one per host), or nil for the login host, whose
// failures are ErrNoToken's.
func (c *Client) hostState(r request) *unreachable {
	switch {
	case c.toAPI(r), r.abs != nil && r.abs.Scheme+"://"+r.abs.Host == c.apiOrigin:
		return &c.apiDown // a download from the API host is a call to it
	case r.abs != nil:
		u, _ := c.mediaDown.LoadOrStore(r.abs.Host, &unreachable{})
		return u.(*unreachable)
	}
	return nil
}

// reached records an attempt to a tracked host that reached it (err nil:
// an answer) or not.
func (u *unreachable) reached(err error) {
	if err != nil && unreachableErr(err) {
		u.streak.Add(1)
		return
	}
	if u.streak.Load() != 0 {
		u.streak.Store(0)
	}
}

// err is the error calls to the host fail with once it was declared
// unreachable, nil before.
func (u *unreachable) err() error {
	if e := u.down.Load(); e != nil {
		return e
	}
	return nil
}

// giveUpUnreachable is called when a call to a tracked host gives up
// with cur, the error of its last attempt, attemptErr: it declares the
// host unreachable when the rule says so (see unreachable) and returns
// the error the call fails with.
func (c *Client) giveUpUnreachable(r request, attemptErr, cur error) error {
	u := c.hostState(r)
	if u == nil || attemptErr == nil || !unreachableErr(attemptErr) || c.cfg.UnreachableAfter < 0 {
		return cur
	}
	n := u.streak.Load()
	if n < int64(c.cfg.UnreachableAfter) {
		return cur
	}
	e := &unreachableError{media: u != &c.apiDown, host: c.red.Redact(r.host()), attempts: n, last: cur}
	if u.down.CompareAndSwap(nil, e) {
		return e
	}
	return u.down.Load()
}

// unreachableErr reports whether err, a transport error, says the host
// was not reached: the connection could not be made (refused, no route,
// a connect timeout: a dial error), the name did not resolve, or TLS
// failed (no handshake, a certificate not trusted or not the host's). A
// failure after connecting (reset, cut short, a timeout waiting for the
// answer) is not: the host was there.
func unreachableErr(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var alert tls.AlertError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &dns), errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &alert),
		errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci):
		return true
	}
	// net/http's own, of an unexported type.
	return strings.Contains(err.Error(), "TLS handshake timeout")
}
