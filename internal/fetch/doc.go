// Package fetch is custody's Genesys Cloud Platform API client: it owns
// every HTTP exchange with Genesys (and with media hosts), and nothing else.
//
// It gets and renews OAuth client-credentials tokens (or uses a ready
// token), paces all workers through one shared rate limiter per OAuth
// client set from the budget (the configured rate, or the org's effective
// limits read at start; Genesys sends no rate-limit headers), shares the
// work between several clients when given more than one, pauses every
// worker on a 429 for its Retry-After and converges, stops cleanly with
// *DailyLimitError on long limits, retries
// transient failures (5xx but 501, resets, timeouts, truncated or invalid
// JSON on a 2xx) with capped, jittered backoff, and bounds body sizes.
//
// Every successful call returns a *Response carrying the body bytes exactly
// as received, with the method, path, status and correlation id the ledger
// records; the typed values (internal/genesys wire types) are for
// navigation only. Custody stores Response.Body as evidence, so nothing
// here re-encodes it.
//
// Ids from responses are untrusted: they are checked and path-escaped
// before going into a URL, and the bearer token only ever goes to the API
// host. Secrets and tokens never appear in errors or logs: the Redactor,
// which knows the client secret, its Basic forms and every token the
// client has held, cleans every error, path, correlation id and header
// where it is made, and callers put their own logs, outputs and ledger
// text through it (Client.Redactor, Redactor.Handler).
//
// It knows nothing about the ledger, evidence or exports: the export
// command drives it. See docs/fetch.md for the policies in one place.
package fetch
