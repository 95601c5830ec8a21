package sim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// fakeClock is an injectable clock for sim.Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// client is a minimal API client for the tests.
type client struct {
	t   testing.TB
	s   *sim.Server
	hc  *http.Client
	tok string
}

func start(t testing.TB, opts sim.Options) (*sim.Server, *client) {
	t.Helper()
	if opts.Org == nil && opts.OrgConfig.Conversations == 0 {
		opts.OrgConfig = sim.OrgConfig{Seed: 7, Conversations: 400, LegalHoldShare: 0.1, OtherMediaShare: 0.25}
	}
	s := simtest.Start(t, opts)
	c := &client{t: t, s: s, hc: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(c.hc.CloseIdleConnections)
	c.tok = c.token()
	return s, c
}

// token gets a new access token.
func (c *client) token() string {
	c.t.Helper()
	resp, body := c.tokenRequest(c.s.ClientID, c.s.ClientSecret, "grant_type=client_credentials")
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	tr := decode[genesys.TokenResponse](c.t, body)
	return tr.AccessToken
}

func (c *client) tokenRequest(id, secret, form string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.s.LoginURL+"/oauth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return c.send(req)
}

func (c *client) send(req *http.Request) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// do sends an API request; body is JSON-encoded unless it is a string.
func (c *client) do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	req := c.req(method, path, body)
	return c.send(req)
}

func (c *client) req(method, path string, body any) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.s.APIURL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	return req
}

// must sends a request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any) []byte {
	c.t.Helper()
	resp, b := c.do(method, path, body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// decode decodes strictly: a field outside the wire type fails the test.
func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, b)
	}
	return v
}

// errBody checks a Genesys error body with the given status.
func errBody(t testing.TB, resp *http.Response, b []byte, status int) genesys.ErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	e := decode[genesys.ErrorBody](t, b)
	if e.Status != status || e.Code == "" || e.Message == "" || e.Details == nil || e.Errors == nil {
		t.Fatalf("error body %s", b)
	}
	if corr := resp.Header.Get(genesys.HeaderCorrelationID); corr == "" || e.ContextID != corr {
		t.Fatalf("contextId %q, correlation header %q", e.ContextID, corr)
	}
	return e
}

const whatsappFilter = `[{"type":"and","predicates":[{"type":"dimension","dimension":"mediaType","operator":"matches","value":"message"},{"type":"dimension","dimension":"messageType","operator":"matches","value":"whatsapp"}]}]`

func whatsapp() []genesys.Filter {
	var f []genesys.Filter
	if err := json.Unmarshal([]byte(whatsappFilter), &f); err != nil {
		panic(err)
	}
	return f
}

func interval(from, to time.Time) string {
	return from.UTC().Format(genesys.TimeLayout) + "/" + to.UTC().Format(genesys.TimeLayout)
}

// firstKind returns the first conversation of a kind.
func firstKind(t testing.TB, o *sim.Org, kind string) int {
	for i := range o.Len() {
		if o.Kind(i) == kind {
			return i
		}
	}
	t.Fatalf("no %s conversation", kind)
	return -1
}
