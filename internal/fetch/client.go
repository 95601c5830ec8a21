package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// maxErrorBody bounds how much of a non-2xx body is read to decode it.
const maxErrorBody = 1 << 20

// Response is one successful call, with what the ledger records about it.
// Body is exactly the bytes the server sent (custody stores it as
// evidence: never re-encode it); for API calls it has been checked to be
// valid JSON.
type Response struct {
	Method        string
	Path          string // API path and query, no scheme, host or base-URL prefix (downloads: path only)
	Status        int
	CorrelationID string // ININ-Correlation-Id
	Body          []byte
	Header        http.Header

	Route    string    // the endpoint template, e.g. RouteMessage; the Stats key
	Attempts int       // attempts it took, 1 if the first succeeded
	Received time.Time // when the body was complete, by Config.Now
}

// Client calls the Genesys Cloud API. It is safe for concurrent use, and
// meant to be shared: its pacer and token are per Client, so every worker
// of a run must use the same one. Bounding the number of workers is the
// caller's job.
type Client struct {
	cfg       Config
	api       string // API base URL, no trailing slash
	login     string // login base URL, no trailing slash
	apiOrigin string // scheme://host of the API, for Download's auth decision
	hc        *http.Client
	log       *slog.Logger
	ua        string
	rateGiven bool    // Config.Rate was set: the org's limits may lower it, never raise it
	lanes     []*lane // one per OAuth client; lanes[0] has Config.ClientID
	pickMu    sync.Mutex
	stats     stats
	red       *Redactor
	slowAt    atomic.Int64 // unix nanos of the last "no answer yet" line (logSlow)
	apiDown   unreachable  // whether the API host can be reached (ErrAPIUnreachable)
	mediaDown sync.Map     // media host → *unreachable (ErrMediaUnreachable)
}

// lane is one OAuth client's share of a Client: its own token and its own
// rate budget (Genesys limits each client, and each token, separately).
type lane struct {
	id     string // the OAuth client id ("" with only an access token)
	tokens *tokenSource
	pacer  *pacer
}

// New checks cfg and returns a client. No request is made: the token is
// fetched on the first call.
func New(cfg Config) (*Client, error) {
	rateGiven := cfg.Rate != 0
	cfg = cfg.withDefaults()
	if err := checkClients(cfg); err != nil {
		return nil, err
	}
	if (cfg.ClientID == "") != (cfg.ClientSecret == "") {
		return nil, fmt.Errorf("fetch: config: %w: client id and secret must be given together (%s, %s)", ErrNoCredentials, EnvClientID, EnvClientSecret)
	}
	if cfg.ClientID == "" && cfg.AccessToken == "" {
		return nil, fmt.Errorf("fetch: config: %w: set %s and %s, or %s", ErrNoCredentials, EnvClientID, EnvClientSecret, EnvAccessToken)
	}
	if cfg.AccessToken != "" && !usableToken(cfg.AccessToken) {
		return nil, fmt.Errorf("fetch: config: %w: the access token holds spaces or control characters", ErrInvalidArgument)
	}
	if !validRate(cfg.Rate) {
		return nil, fmt.Errorf("fetch: config: %w: rate must be a positive number of requests per minute", ErrInvalidArgument)
	}
	api, login := cfg.APIURL, cfg.LoginURL
	if login == "" && api != "" {
		login = loginFor(api)
	}
	if api == "" || login == "" {
		ra, rl, err := Region(cfg.Region)
		if err != nil {
			return nil, err
		}
		if api == "" {
			api = ra
		}
		if login == "" {
			login = rl
		}
	}
	var err error
	if api, err = baseURL("api url", api); err != nil {
		return nil, err
	}
	if login, err = baseURL("login url", login); err != nil {
		return nil, err
	}
	u, _ := url.Parse(api)
	c := &Client{
		cfg:       cfg,
		api:       api,
		login:     login,
		apiOrigin: u.Scheme + "://" + u.Host,
		hc:        cfg.HTTPClient,
		log:       cfg.Logger,
		ua:        "custody/" + cfg.Version,
		rateGiven: rateGiven,
	}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // one per worker; the default 2 would churn connections
		c.hc = &http.Client{Transport: t}
	}
	c.red = cfg.Redactor
	if c.red == nil {
		c.red = NewRedactor()
	}
	c.red.AddCredentials(cfg.ClientID, cfg.ClientSecret)
	c.red.Add(cfg.AccessToken)
	for _, cr := range cfg.Clients {
		c.red.AddCredentials(cr.ID, cr.Secret)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.lanes = []*lane{{id: cfg.ClientID, tokens: newTokenSource(c, cfg.ClientID, cfg.ClientSecret, cfg.AccessToken), pacer: newPacer(cfg, c.log)}}
	for _, cr := range cfg.Clients {
		p := newPacer(cfg, c.log)
		p.name = shortID(cr.ID)
		c.lanes = append(c.lanes, &lane{id: cr.ID, tokens: newTokenSource(c, cr.ID, cr.Secret, ""), pacer: p})
	}
	if len(c.lanes) > 1 {
		c.lanes[0].pacer.name = shortID(cfg.ClientID)
	}
	return c, nil
}

// CloseIdleConnections closes the kept-alive connections, e.g. before a
// local server is shut down (which otherwise waits for them).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Redactor returns the client's redactor: it knows the client secret and
// every token the client has held. Everything that leaves custody (logs,
// outputs, ledger entries) should go through it.
func (c *Client) Redactor() *Redactor { return c.red }

// Redact returns s without the client's credentials (Redactor().Redact).
func (c *Client) Redact(s string) string { return c.red.Redact(s) }

// APIURL returns the API base URL in use.
func (c *Client) APIURL() string { return c.api }

// request is one logical call; do runs it with pacing, auth and retries.
type request struct {
	method      string
	route       string      // Stats key and log field
	base        string      // c.api or c.login; "" for an absolute url
	path        string      // already escaped
	query       url.Values  // may be nil
	abs         *url.URL    // Download: the whole URL
	body        []byte      // nil: no body
	contentType string      // of body; application/json when empty
	accept      string      // application/json when empty
	header      http.Header // extra headers
	auth        bool        // send the bearer token, renew once on 401
	pace        bool        // go through the shared pacer
	jsonBody    bool        // a 2xx body must be valid JSON
	allowEmpty  bool        // with jsonBody: an empty body is fine too (DELETE)
	onError     func(*Response) error
	limit       int64 // a 2xx body's bound; 0: Config.MaxResponseBytes
	// check, when set, vets a complete 2xx body (Download's Expect): an
	// error (a *BodyError) fails the attempt, which is tried again up
	// to bodyCheckAttempts attempts.
	check func(body []byte, h http.Header) error
	size  int64 // a download's stated size (0: not stated), for its time bound
}

// target returns the URL to send and the path to show (no host; for
// absolute URLs no query either, as pre-signed URLs carry signatures).
func (r *request) target() (string, string) {
	if r.abs != nil {
		return r.abs.String(), r.abs.EscapedPath()
	}
	shown := r.path
	if len(r.query) > 0 {
		shown += "?" + r.query.Encode()
	}
	return r.base + shown, shown
}

// attemptResult is what one HTTP exchange produced. resp's body has been
// read (into body) and closed.
type attemptResult struct {
	resp    *http.Response
	body    []byte
	tok     string // bearer token sent, for invalidation on 401
	err     error  // transport, body-read or JSON-validity error: may be retried
	authErr error  // no token could be had: final
}

// do runs r: waits for the pacer, sends, retries per shouldRetry within the
// attempt and elapsed caps, renews the token once on a 401, and turns a
// final failure into an error naming the method and path.
func (c *Client) do(ctx context.Context, r request) (*Response, error) {
	target, shown := r.target()
	shown = c.red.Redact(shown) // ids and cursors come from the server
	ep := c.stats.endpoint(r.route)
	fail := func(err error) (*Response, error) {
		ep.failures.Add(1)
		c.stats.total.failures.Add(1)
		return nil, c.red.Err(err)
	}
	start := c.cfg.Now()
	reauthed := false
	host := c.hostState(r)
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("fetch: %s %s: %w", r.method, shown, err))
		}
		if host != nil {
			if err := host.err(); err != nil {
				return fail(err) // declared unreachable: no request is sent
			}
			if w := host.wait.Load(); w != nil && r.route == RouteDownload && !r.pace && c.cfg.Now().Before(*w) {
				return fail(&StorageWaitError{Method: r.method, Path: shown, Until: *w, Max: c.cfg.MaxRetryAfter})
			}
		}
		ln := c.lanes[0]
		if r.pace {
			var err error
			if ln, err = c.acquire(ctx, r.route); err != nil {
				var dl *DailyLimitError
				if errors.As(err, &dl) {
					dl.Method, dl.Path = r.method, shown
					return fail(dl)
				}
				return fail(fmt.Errorf("fetch: %s %s: %w", r.method, shown, err))
			}
		}
		t0 := time.Now()
		res := c.attempt(ctx, r, target, ln)
		if res.authErr != nil {
			if ctx.Err() != nil {
				return fail(fmt.Errorf("fetch: %s %s: %w", r.method, shown, ctx.Err()))
			}
			return fail(&noTokenError{res.authErr})
		}
		ep.requests.Add(1)
		c.stats.total.requests.Add(1)
		c.stats.bytes.Add(int64(len(res.body)))
		if host != nil {
			host.reached(res.err)
		}
		status := 0
		var corr string
		if res.resp != nil {
			status = res.resp.StatusCode
			corr = c.red.Redact(res.resp.Header.Get(genesys.HeaderCorrelationID))
		}
		c.log.Debug("fetch: request", "method", r.method, "path", shown, "status", status,
			"attempt", attempt, "took", time.Since(t0), "correlation_id", corr)

		if res.err == nil && status/100 == 2 {
			if r.pace {
				ln.pacer.succeeded(r.route)
			}
			if r.route != RouteToken && c.red.Holds(res.body) {
				// Kept byte-exact (it is evidence); the operator is told
				// to rotate the credential (docs/fetch.md, Secrets).
				c.stats.secretEchoes.Add(1)
				c.log.Warn("fetch: the response body holds a credential custody sent; it is kept as received: rotate the client secret",
					"method", r.method, "path", shown, "correlation_id", corr)
			}
			return &Response{
				Method: r.method, Path: shown, Status: status, CorrelationID: corr,
				Body: res.body, Header: c.red.Header(res.resp.Header),
				Route: r.route, Attempts: attempt, Received: c.cfg.Now(),
			}, nil
		}

		var cur error // what went wrong in this attempt, as the caller would see it
		if res.err != nil {
			cur = c.red.Err(fmt.Errorf("fetch: %s %s: %w", r.method, shown, cleanErr(res.err)))
		} else {
			cur = c.statusError(r, shown, res)
		}

		if res.err == nil && status == http.StatusUnauthorized && r.auth {
			if !ln.tokens.renewable() {
				return fail(fmt.Errorf("%w (the access token was rejected and cannot be renewed without client credentials)", cur))
			}
			if reauthed {
				return fail(fmt.Errorf("%w (still unauthorized after renewing the token; check that the OAuth client is active and has the needed roles)", cur))
			}
			reauthed = true
			ln.tokens.invalidate(res.tok)
			c.stats.reauths.Add(1)
			c.log.Info("fetch: token rejected, renewing once", "method", r.method, "path", shown)
			continue
		}

		var resp *http.Response
		if res.err == nil {
			resp = res.resp
		}
		retry, wait := c.shouldRetry(ctx, resp, res.err)
		if be := (*BodyError)(nil); errors.As(res.err, &be) {
			// Not the attachment stated: a body cut short may come whole
			// next time; a page served in its place would come again.
			retry = ctx.Err() == nil && attempt < bodyCheckAttempts
		}
		sleepFor := wait
		if res.err == nil && status == http.StatusTooManyRequests {
			ep.rateLimited.Add(1)
			c.stats.total.rateLimited.Add(1)
			now := c.cfg.Now()
			ra, ok := parseRetryAfter(res.resp.Header, now)
			if ok && ra > c.cfg.MaxRetryAfter && r.route == RouteDownload && !r.pace {
				// A storage host's limit, not Genesys's: that download's
				// failure (the caller records it, for a later run), never
				// a stop of everything as a daily API limit; and the
				// host's other downloads fail without a request until
				// then, rather than each ask again.
				until := now.Add(ra)
				if host != nil {
					host.wait.Store(&until)
				}
				return fail(&StorageWaitError{Method: r.method, Path: shown, RetryAfter: ra, Until: until, Max: c.cfg.MaxRetryAfter, Last: cur})
			}
			if ok && ra > c.cfg.MaxRetryAfter {
				until := now.Add(ra)
				if r.pace {
					ln.pacer.stop(until, ra, status)
					if len(c.lanes) > 1 && c.anyLaneLeft(now) && attempt < c.cfg.MaxAttempts {
						// Another client still has budget: the call moves to it.
						c.log.Warn("fetch: long rate limit on one client, going on with the others", "client", shortID(ln.id), "retry_after", ra, "until", until)
						continue
					}
				}
				c.log.Warn("fetch: long rate limit, stopping", "method", r.method, "path", shown, "retry_after", ra, "until", until, "correlation_id", corr)
				return fail(&DailyLimitError{RetryAfter: ra, Until: until, Status: status, Method: r.method, Path: shown, CorrelationID: corr})
			}
			if !ok {
				ra = c.backoff(attempt)
			}
			wait, sleepFor = ra, ra
			if r.pace {
				// Every worker waits at the gate, this one included.
				ln.pacer.refused(r.route, now.Add(ra))
				sleepFor = 0
			}
		}
		if res.err == nil && r.pace && status/100 == 5 && retry {
			// A 5xx from the API asking for a wait longer than a 429
			// may ask (MaxRetryAfter: a maintenance window) holds for
			// every request, of every client: each call giving up at
			// once and the next one asking again would hammer on an API
			// that asked for a pause. Every later call fails without a
			// request until then, and the caller stops, saying when to
			// resume. The Retry-After alone decides, not the time the
			// call has spent: a short one late in a long call is waited
			// out within MaxElapsed, or fails that call alone.
			now := c.cfg.Now()
			if ra, ok := parseRetryAfter(res.resp.Header, now); ok && ra > c.cfg.MaxRetryAfter {
				until := now.Add(ra)
				for _, l := range c.lanes {
					l.pacer.stop(until, ra, status)
				}
				c.log.Warn("fetch: the API is unavailable with a long Retry-After, stopping", "method", r.method, "path", shown, "status", status, "retry_after", ra, "until", until, "correlation_id", corr)
				return fail(&DailyLimitError{RetryAfter: ra, Until: until, Status: status, Method: r.method, Path: shown, CorrelationID: corr})
			}
		}
		if !retry {
			if err := ctx.Err(); err != nil {
				return fail(fmt.Errorf("fetch: %s %s: %w (after: %v)", r.method, shown, err, cur))
			}
			return fail(c.giveUpUnreachable(r, res.err, cur))
		}
		if attempt >= c.cfg.MaxAttempts {
			return fail(c.giveUpUnreachable(r, res.err, fmt.Errorf("%w (gave up after %d attempts)", cur, attempt)))
		}
		if wait <= 0 {
			wait = c.failureBackoff(attempt)
			sleepFor = wait
		}
		if elapsed := c.cfg.Now().Add(wait).Sub(start); elapsed > c.cfg.MaxElapsed {
			return fail(c.giveUpUnreachable(r, res.err, fmt.Errorf("%w (gave up after %d attempts: retrying would pass the %s limit)", cur, attempt, c.cfg.MaxElapsed)))
		}
		ep.retries.Add(1)
		c.stats.total.retries.Add(1)
		c.logRetry(ctx, r, shown, attempt, wait, res.err != nil, r.pace && status == http.StatusTooManyRequests, cur)
		if err := c.cfg.Sleep(ctx, sleepFor); err != nil {
			return fail(fmt.Errorf("fetch: %s %s: %w (while waiting to retry after: %v)", r.method, shown, err, cur))
		}
	}
}

// attempt makes one HTTP exchange.
func (c *Client) attempt(ctx context.Context, r request, target string, ln *lane) (res attemptResult) {
	if r.route == RouteDownload {
		return c.downloadAttempt(ctx, r, target, ln)
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.exchange(actx, ctx, r, target, ln, nil)
}

// downloadAttempt is attempt for a download, whose body may be large and
// slow: RequestTimeout bounds the wait for the answer's headers; then the
// body fails the attempt only after DownloadIdle without a byte, or past
// RequestTimeout plus its size at MinDownloadRate in all. One
// RequestTimeout for the whole body failed every attempt of an attachment
// too large to arrive in it, however steadily it came. A bound hit is a
// timeout (context.DeadlineExceeded), retried like any.
func (c *Client) downloadAttempt(ctx context.Context, r request, target string, ln *lane) attemptResult {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var why atomic.Pointer[string] // the bound that ended the attempt
	bound := func(d time.Duration, what string) *time.Timer {
		return time.AfterFunc(d, func() {
			s := what
			if why.CompareAndSwap(nil, &s) {
				cancel()
			}
		})
	}
	headers := bound(c.cfg.RequestTimeout, fmt.Sprintf("no answer within %s", c.cfg.RequestTimeout))
	var idle, total *time.Timer
	body := func(resp *http.Response) io.Reader {
		headers.Stop()
		// The stated size, when there is one: a larger Content-Length
		// is not the attachment, and must not stretch the bound
		// (review-commits2 L2: a host announcing 128 MiB for a stated
		// 40 KB held a worker 36 minutes a try).
		size := r.size
		if size <= 0 {
			size = resp.ContentLength
		}
		if size <= 0 {
			size = r.limit
		}
		allowed := c.cfg.RequestTimeout + time.Duration(float64(size)/float64(c.cfg.MinDownloadRate)*float64(time.Second))
		total = bound(allowed-time.Since(start), fmt.Sprintf("the body not complete within %s (%d bytes at %d bytes/s, plus %s)", allowed.Round(time.Second), size, c.cfg.MinDownloadRate, c.cfg.RequestTimeout))
		idle = bound(c.cfg.DownloadIdle, fmt.Sprintf("no byte of the body for %s", c.cfg.DownloadIdle))
		return &progressReader{r: resp.Body, idle: idle, d: c.cfg.DownloadIdle}
	}
	res := c.exchange(actx, ctx, r, target, ln, body)
	headers.Stop()
	if idle != nil {
		idle.Stop()
		total.Stop()
	}
	if w := why.Load(); w != nil && res.err != nil && ctx.Err() == nil {
		res.err = fmt.Errorf("%s: %w", *w, context.DeadlineExceeded)
	}
	return res
}

// progressReader is a download's body, pushing its idle bound back on
// every byte read.
type progressReader struct {
	r    io.Reader
	idle *time.Timer
	d    time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.idle.Reset(p.d)
	}
	return n, err
}

// exchange sends r on actx (ctx: the caller's, for the token) and reads
// the answer; body, when set, wraps a 2xx body before it is read.
func (c *Client) exchange(actx, ctx context.Context, r request, target string, ln *lane, body func(*http.Response) io.Reader) (res attemptResult) {
	var reqBody io.Reader
	if r.body != nil {
		reqBody = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, target, reqBody)
	if err != nil {
		res.err = err
		return res
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.ua)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.auth {
		tok, err := ln.tokens.token(ctx)
		if err != nil {
			res.authErr = err
			return res
		}
		res.tok = tok
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	var slow *time.Timer // says so if no answer (headers) comes in SlowNotice
	if c.cfg.SlowNotice > 0 {
		slow = time.AfterFunc(c.cfg.SlowNotice, func() { c.logSlow(r, req.URL.Host) })
	}
	resp, err := c.hc.Do(req)
	if slow != nil {
		slow.Stop()
	}
	if err != nil {
		res.err = err
		return res
	}
	defer resp.Body.Close()
	res.resp = resp
	if resp.StatusCode/100 != 2 {
		res.body, _ = readLimited(resp.Body, maxErrorBody, -1) // best effort: the status decides
		return res
	}
	limit := c.cfg.MaxResponseBytes
	if r.limit > 0 {
		limit = r.limit
	}
	var rd io.Reader = resp.Body
	if body != nil {
		rd = body(resp)
	}
	res.body, res.err = readLimited(rd, limit, resp.ContentLength)
	if res.err == nil && r.check != nil {
		res.err = r.check(res.body, resp.Header)
	}
	if res.err == nil && r.jsonBody && !validJSON(res.body) && (!r.allowEmpty || len(bytes.TrimSpace(res.body)) > 0) {
		res.err = fmt.Errorf("%w: %d bytes of invalid JSON with status %d", ErrMalformedBody, len(res.body), resp.StatusCode)
	}
	return res
}

// statusError describes a complete non-2xx answer.
func (c *Client) statusError(r request, shown string, res attemptResult) error {
	corr := c.red.Redact(res.resp.Header.Get(genesys.HeaderCorrelationID))
	if r.onError != nil {
		return r.onError(&Response{Method: r.method, Path: shown, Status: res.resp.StatusCode, CorrelationID: corr, Body: res.body, Header: c.red.Header(res.resp.Header), Route: r.route})
	}
	var eb genesys.ErrorBody
	if err := json.Unmarshal(res.body, &eb); err != nil {
		eb = xmlErrorBody(res.body) // a storage host's (S3's) <Error>, or nothing
	}
	eb = c.redactErrorBody(eb)
	eb.Message = quoteShort(eb.Message, 300)
	eb.MessageWithParams = quoteShort(eb.MessageWithParams, 300)
	eb.Code = quoteShort(eb.Code, 100)
	if corr == "" {
		corr = eb.ContextID
	}
	return &APIError{Status: res.resp.StatusCode, Body: eb, CorrelationID: quoteShort(corr, 100), Method: r.method, Path: shown}
}

// redactErrorBody removes credentials from every field of an error body
// (messages, params, ids, nested errors), through its JSON form.
func (c *Client) redactErrorBody(eb genesys.ErrorBody) genesys.ErrorBody {
	b, err := json.Marshal(eb)
	if err != nil {
		return genesys.ErrorBody{Status: eb.Status, Message: c.red.Redact(eb.Message), Code: c.red.Redact(eb.Code)}
	}
	red := c.red.Redact(string(b))
	if red == string(b) {
		return eb
	}
	var out genesys.ErrorBody
	if json.Unmarshal([]byte(red), &out) != nil {
		return genesys.ErrorBody{Status: eb.Status, Message: c.red.Redact(eb.Message), Code: c.red.Redact(eb.Code)}
	}
	return out
}

// readLimited reads all of r, failing with ErrTooLarge past max bytes.
// size is the announced Content-Length (-1 if unknown), used to size the
// buffer and to fail early.
func readLimited(r io.Reader, max, size int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, size, max)
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + 1) // +1 so ReadFrom's EOF probe does not regrow
	}
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return buf.Bytes(), nil
}

// cleanErr drops the *url.Error wrapper, whose message repeats the full
// URL (for downloads, a pre-signed one); the caller names method and path.
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ---- Stats ----

// Stats is a snapshot of a Client's counters, for the export's progress
// display and run accounting.
type Stats struct {
	Requests      int64 // HTTP exchanges that got an answer or a transport error
	RateLimited   int64 // 429 answers
	Retries       int64 // attempts repeated after a retryable failure
	Failures      int64 // calls that returned an error
	Reauths       int64 // tokens dropped after a 401
	SecretEchoes  int64 // 2xx bodies that held a credential (kept byte-exact; rotate it)
	BytesReceived int64
	Clients       int       // OAuth clients sharing the work
	PacePerMinute float64   // current pace, requests per minute, all clients together, lowered by 429s (0: unlimited)
	PausedUntil   time.Time // end of the latest 429 pause (zero if none)
	Endpoints     map[string]EndpointStats
}

// EndpointStats counts one route.
type EndpointStats struct {
	Requests, RateLimited, Retries, Failures int64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	s := Stats{
		Requests:      c.stats.total.requests.Load(),
		RateLimited:   c.stats.total.rateLimited.Load(),
		Retries:       c.stats.total.retries.Load(),
		Failures:      c.stats.total.failures.Load(),
		Reauths:       c.stats.reauths.Load(),
		SecretEchoes:  c.stats.secretEchoes.Load(),
		BytesReceived: c.stats.bytes.Load(),
		Endpoints:     map[string]EndpointStats{},
	}
	s.Clients = len(c.lanes)
	for _, ln := range c.lanes {
		pm, until := ln.pacer.snapshot()
		s.PacePerMinute += pm
		if until.After(s.PausedUntil) {
			s.PausedUntil = until
		}
	}
	if math.IsInf(s.PacePerMinute, 0) {
		s.PacePerMinute = 0 // unlimited; +Inf would not survive encoding/json
	}
	c.stats.byRoute.Range(func(k, v any) bool {
		e := v.(*counters)
		s.Endpoints[k.(string)] = EndpointStats{
			Requests: e.requests.Load(), RateLimited: e.rateLimited.Load(),
			Retries: e.retries.Load(), Failures: e.failures.Load(),
		}
		return true
	})
	return s
}

// xmlErrorBody reads the code and message of an S3-style XML error body
// (<Error><Code>…</Code><Message>…</Message></Error>), which pre-signed
// media hosts answer; anything else gives an empty body.
func xmlErrorBody(body []byte) genesys.ErrorBody {
	var x struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}
	if len(body) > 64<<10 || xml.Unmarshal(body, &x) != nil {
		return genesys.ErrorBody{}
	}
	return genesys.ErrorBody{Code: x.Code, Message: x.Message}
}
