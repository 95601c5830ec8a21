package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Sentinel errors. Callers match them with errors.Is; every error this
// package returns that falls in one of these classes wraps (or, for
// *APIError, *AuthError and *DailyLimitError, matches) the sentinel.
var (
	// ErrNotFound: the API answered 404.
	ErrNotFound = errors.New("not found")
	// ErrNotReady: the API answered 202, what it was asked for is still
	// being prepared (a recording).
	ErrNotReady = errors.New("not ready yet (202)")
	// ErrUnauthorized: the API answered 401 even after one token renewal,
	// or the OAuth token endpoint refused the client credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the API answered 403 (the OAuth client lacks a
	// permission, e.g. conversation:message:view).
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited: the API answered 429 and retrying was not possible
	// within the caps, or the limit is a daily one (*DailyLimitError).
	ErrRateLimited = errors.New("rate limited")
	// ErrStorageHostWait: a storage host (an attachment's pre-signed
	// url) answered 429 asking to wait longer than Config.MaxRetryAfter:
	// that download failed, and the host's other downloads fail without
	// a request until the wait is over (*StorageWaitError).
	ErrStorageHostWait = errors.New("the storage host asked to wait longer than custody does")
	// ErrBadRequest: the API answered 400.
	ErrBadRequest = errors.New("bad request")
	// ErrMalformedBody: a 2xx body is not valid JSON (after the retries
	// allowed for truncation) or does not have the expected shape.
	ErrMalformedBody = errors.New("malformed response body")
	// ErrTooLarge: a response body is bigger than Config.MaxResponseBytes
	// (an attachment: Config.MaxDownloadBytes).
	ErrTooLarge = errors.New("response too large")
	// ErrBadID: an id to be put in a URL path is empty, "." or "..", too
	// long or holds control characters. Ids come from API responses, which
	// custody does not trust.
	ErrBadID = errors.New("bad id")
	// ErrInvalidArgument: a caller mistake, e.g. more ids than one call takes.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNoCredentials: neither client credentials nor an access token.
	ErrNoCredentials = errors.New("no credentials")
	// ErrUnknownRegion: a region that is neither a known name nor a domain.
	ErrUnknownRegion = errors.New("unknown region")
	// ErrJobFailed: an analytics job or audit query ended FAILED,
	// CANCELLED or EXPIRED, or did not finish within the poll timeout.
	ErrJobFailed = errors.New("job did not complete")
	// ErrListingExpired: the job was EXPIRED when polled (this error also
	// matches ErrJobFailed), or paging through a job's results broke off
	// because the job or its cursor expired at the source: a results request
	// answered 404; or 400 while the job's status, read again, is EXPIRED
	// or not found; or 400 to a cursor while the job is still done. The
	// listing can be started over with a new job. A 400 to the first page
	// of a job still done is not an expiry: it is Genesys's error about
	// the request (ErrBadRequest, see ListConversations).
	ErrListingExpired = errors.New("listing expired at the source")
	// ErrDigestMismatch: downloaded bytes do not have the announced SHA-256.
	ErrDigestMismatch = errors.New("sha256 mismatch")
	// ErrSizeMismatch: a download's length is not the size the API
	// states of the attachment (cut short, or something else served).
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrNotMedia: a download of no stated size is served as an HTML
	// page where the API states an attachment of another type (a login
	// or error page).
	ErrNotMedia = errors.New("a page, not the attachment")
	// ErrNoToken: a request could not be sent because no access token
	// could be had: the token endpoint refused the credentials (the error
	// matches ErrUnauthorized too), failed, or could not be reached, after
	// the retries allowed; or a ready token was rejected and cannot be
	// renewed. Every API request needs the token, so the error says
	// nothing about what the request asked for: a caller working through
	// many items stops rather than failing each one in turn.
	ErrNoToken = errors.New("no access token")
	// ErrAPIUnreachable: the API host cannot be reached. A call to it
	// used up its retries on failures to connect (refused, a DNS or TLS
	// failure, a connect timeout: unreachableErr) while the last
	// Config.UnreachableAfter attempts of every worker to that host failed
	// so, with no answer between; that call, every call still retrying
	// and every later call then fail with it at once, without a request.
	// Like ErrNoToken it says nothing about what a request asked for: a
	// caller working through many items stops rather than failing each
	// one in turn. The error names the host and wraps the last failure.
	ErrAPIUnreachable = errors.New("API host unreachable")
	// ErrMediaUnreachable: a media host (where pre-signed attachment
	// URLs point) cannot be reached, by ErrAPIUnreachable's rule, kept
	// for each host apart. Unlike it, it fails only the downloads from
	// that host, at once, without a request: a run goes on with the
	// conversations that do not need it.
	ErrMediaUnreachable = errors.New("media host unreachable")
)

// noTokenError is an error of getting the token a request needed: it
// reads as the error itself and matches ErrNoToken besides.
type noTokenError struct{ err error }

func (e *noTokenError) Error() string   { return e.err.Error() }
func (e *noTokenError) Unwrap() []error { return []error{e.err, ErrNoToken} }

// APIError is a non-2xx answer from the API. It matches the sentinel of its
// status with errors.Is: 404 ErrNotFound, 401 ErrUnauthorized, 403
// ErrForbidden, 429 ErrRateLimited, 400 ErrBadRequest.
type APIError struct {
	Status        int
	Body          genesys.ErrorBody // decoded best effort; zero if the body was not an error body
	CorrelationID string
	Method        string
	Path          string // path and query, no host
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fetch: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Body.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Body.Code)
	}
	if e.Body.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Body.Message)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation id %s)", e.CorrelationID)
	}
	return b.String()
}

// Unwrap returns the sentinel of the status, or nil.
func (e *APIError) Unwrap() error { return statusSentinel(e.Status) }

// Is reports whether target is the sentinel of the status.
func (e *APIError) Is(target error) bool {
	s := statusSentinel(e.Status)
	return s != nil && target == s
}

func statusSentinel(status int) error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusTooManyRequests:
		return ErrRateLimited
	case http.StatusBadRequest:
		return ErrBadRequest
	}
	return nil
}

// AuthError is a refusal from the OAuth token endpoint, or a token that
// cannot be used. It matches ErrUnauthorized. It never holds the client
// secret or a token.
type AuthError struct {
	Status        int    // HTTP status of the token endpoint, 0 if none
	Code          string // OAuth "error", e.g. invalid_client
	Description   string // OAuth "error_description" or "description"
	CorrelationID string
	Reason        string // what custody concluded, for the user
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("fetch: authentication failed")
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": token endpoint answered %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation id %s)", e.CorrelationID)
	}
	return b.String()
}

// Unwrap returns ErrUnauthorized.
func (e *AuthError) Unwrap() error { return ErrUnauthorized }

// DailyLimitError is a 429 whose Retry-After exceeds Config.MaxRetryAfter:
// a daily or other long limit; or a 5xx from the API whose Retry-After
// exceeds it too (Status says which: a maintenance window). Retrying
// in-process would stall the run for hours, so the client gives up at once (and
// every later call fails the same way without a request until Until);
// the caller saves its state and tells the user when to resume. A 429's
// matches ErrRateLimited.
type DailyLimitError struct {
	RetryAfter    time.Duration
	Until         time.Time
	Status        int // the answer's status: 429 (or 0) a rate limit, a 5xx the service unavailable
	Method, Path  string
	CorrelationID string
}

func (e *DailyLimitError) Error() string {
	what := "rate limit with a long wait (likely daily)"
	if e.Status/100 == 5 {
		what = fmt.Sprintf("%d %s with a long Retry-After (the API is unavailable, e.g. maintenance)", e.Status, http.StatusText(e.Status))
	}
	s := fmt.Sprintf("fetch: %s: retry after %s, at %s", what, e.RetryAfter, e.Until.UTC().Format(time.RFC3339))
	if e.Method != "" {
		s = fmt.Sprintf("fetch: %s %s: %s", e.Method, e.Path, strings.TrimPrefix(s, "fetch: "))
	}
	if e.CorrelationID != "" {
		s += fmt.Sprintf(" (correlation id %s)", e.CorrelationID)
	}
	return s
}

// Unwrap returns ErrRateLimited, but for a 5xx's.
func (e *DailyLimitError) Unwrap() error {
	if e.Status/100 == 5 {
		return nil
	}
	return ErrRateLimited
}

// StorageWaitError is a download refused because its storage host asked
// to wait longer than custody waits (ErrStorageHostWait): by its 429
// (RetryAfter, Last the 429's *APIError), or, without a request, by an
// earlier download's, the wait not over yet (RetryAfter 0, Last nil).
type StorageWaitError struct {
	Method, Path string
	RetryAfter   time.Duration
	Until        time.Time
	Max          time.Duration // Config.MaxRetryAfter
	Last         error
}

func (e *StorageWaitError) Error() string {
	if e.Last == nil {
		return fmt.Sprintf("fetch: %s %s: not asked: its storage host asked an earlier download to wait until %s, more than the %s custody waits", e.Method, e.Path, e.Until.UTC().Format(time.RFC3339), e.Max)
	}
	return fmt.Sprintf("%v (the storage host asked to wait %s, more than the %s waited for: its downloads fail without a request until %s)", e.Last, e.RetryAfter.Round(time.Second), e.Max, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap gives ErrStorageHostWait and ErrRateLimited, and the 429's
// error when there was one.
func (e *StorageWaitError) Unwrap() []error {
	if e.Last == nil {
		return []error{ErrStorageHostWait, ErrRateLimited}
	}
	return []error{ErrStorageHostWait, e.Last}
}
