package fetch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/genesys"
)

// renewLead is how long before expiry a token is renewed, as the official
// SDKs do. Tokens shorter than twice the lead are renewed at half-life.
const renewLead = 60 * time.Second

// tokenSource hands out the bearer token, fetching and renewing it with the
// client credentials. One fetch at a time: concurrent callers wait for it
// (on a channel, so the wait honours their ctx) and share the result, a
// failure included.
type tokenSource struct {
	c              *Client
	id, secret     string
	sem            chan struct{}
	mu             sync.Mutex
	tok            string
	renewAt        time.Time // zero: no known expiry, renewed only after a 401
	stale          bool      // rejected with a 401
	fromCredential bool      // tok came from the token endpoint, not from Config.AccessToken
	fetches        int       // fetches finished: a caller that waited through one shares its outcome
	fetchErr       error     // the last fetch's error, nil if it got a token
}

func newTokenSource(c *Client, id, secret, accessToken string) *tokenSource {
	return &tokenSource{c: c, id: id, secret: secret, tok: accessToken, sem: make(chan struct{}, 1)}
}

// renewable reports whether tokens can be fetched (client credentials set).
func (t *tokenSource) renewable() bool { return t.id != "" && t.secret != "" }

// current returns the token if it is usable now.
func (t *tokenSource) current() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == "" || t.stale {
		return "", false
	}
	if !t.renewAt.IsZero() && !t.c.cfg.Now().Before(t.renewAt) {
		return "", false
	}
	return t.tok, true
}

// invalidate marks tok as rejected, unless another caller already replaced it.
func (t *tokenSource) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == tok {
		t.stale = true
	}
}

// token returns a usable bearer token, fetching one if needed.
func (t *tokenSource) token(ctx context.Context) (string, error) {
	if tok, ok := t.current(); ok {
		return tok, nil
	}
	if !t.renewable() {
		return "", &AuthError{Reason: "the access token was rejected or has expired and cannot be renewed without client credentials (" +
			EnvClientID + ", " + EnvClientSecret + ")"}
	}
	t.mu.Lock()
	seen := t.fetches
	t.mu.Unlock()
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()
	if tok, ok := t.current(); ok { // renewed while we waited
		return tok, nil
	}
	t.mu.Lock()
	if t.fetches != seen && t.fetchErr != nil {
		// A fetch failed, after its retries, while we waited: its answer
		// is ours too, not the cue for another round of retries.
		err := t.fetchErr
		t.mu.Unlock()
		return "", err
	}
	t.mu.Unlock()
	tok, err := t.fetch(ctx)
	if ctx.Err() == nil { // a fetch cut short by its caller's ctx says nothing to the others
		t.mu.Lock()
		t.fetches++
		t.fetchErr = err
		t.mu.Unlock()
	}
	return tok, err
}

// fetch runs the client-credentials grant and stores the new token.
func (t *tokenSource) fetch(ctx context.Context) (string, error) {
	c := t.c
	obtained := c.cfg.Now()
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.id+":"+t.secret)))
	resp, err := c.do(ctx, request{
		method:      http.MethodPost,
		route:       RouteToken,
		base:        c.login,
		path:        "/oauth/token",
		body:        []byte(url.Values{"grant_type": {"client_credentials"}}.Encode()),
		contentType: "application/x-www-form-urlencoded",
		header:      h,
		jsonBody:    true,
		onError:     c.tokenError,
	})
	if err != nil {
		return "", err
	}
	var tr genesys.TokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil {
		// Never quote the body: it may hold a token.
		return "", &AuthError{Status: resp.Status, CorrelationID: resp.CorrelationID, Reason: "token endpoint returned a body that is not a token response"}
	}
	if tr.AccessToken == "" || !usableToken(tr.AccessToken) {
		return "", &AuthError{Status: resp.Status, CorrelationID: resp.CorrelationID, Reason: "token endpoint returned no usable access_token"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", &AuthError{Status: resp.Status, CorrelationID: resp.CorrelationID, Reason: "token endpoint returned token_type " + quoteShort(tr.TokenType, 32) + ", want bearer"}
	}
	c.red.Add(tr.AccessToken) // before anything can echo it
	t.mu.Lock()
	t.tok, t.stale, t.fromCredential = tr.AccessToken, false, true
	t.renewAt = renewTime(obtained, tr.ExpiresIn)
	t.mu.Unlock()
	c.log.Debug("fetch: obtained access token", "expires_in_s", tr.ExpiresIn, "renew_at", t.renewAt)
	return tr.AccessToken, nil
}

// renewTime is when a token obtained at t with lifetime expiresIn seconds
// should be replaced: 60 s before expiry, or at half-life for short tokens.
// A missing lifetime means renewal only after a 401.
func renewTime(t time.Time, expiresIn int) time.Time {
	if expiresIn <= 0 {
		return time.Time{}
	}
	life := time.Duration(expiresIn) * time.Second
	if life >= 2*renewLead {
		return t.Add(life - renewLead)
	}
	return t.Add(life / 2)
}

// usableToken reports whether s can go in an Authorization header as is.
func usableToken(s string) bool {
	if len(s) > 8192 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// tokenError turns a non-2xx token endpoint answer into an *AuthError,
// with any secret or token the server echoed removed.
func (c *Client) tokenError(resp *Response) error {
	var te genesys.TokenError
	_ = json.Unmarshal(resp.Body, &te) // best effort: the fields stay empty otherwise
	desc := te.ErrorDescription
	if desc == "" {
		desc = te.Description
	}
	reason := "the token endpoint refused the client credentials"
	if resp.Status >= 500 || resp.Status == http.StatusTooManyRequests {
		reason = "the token endpoint failed"
	}
	// Redacted before cut short, so no prefix of a credential survives.
	return &AuthError{
		Status:        resp.Status,
		Code:          quoteShort(c.red.Redact(te.Error), 64),
		Description:   quoteShort(c.red.Redact(desc), 200),
		CorrelationID: quoteShort(c.red.Redact(resp.CorrelationID), 64),
		Reason:        reason,
	}
}

// quoteShort cuts s (from a server) to n bytes and makes it printable.
func quoteShort(s string, n int) string {
	if len(s) > n {
		// Cut on a character's first byte: half a character would be
		// shown as U+FFFD, which the host never said.
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
