package sim_test

import (
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func TestToken(t *testing.T) {
	s, c := start(t, sim.Options{TokenTTL: 90 * time.Minute})
	resp, body := c.tokenRequest(s.ClientID, s.ClientSecret, "grant_type=client_credentials")
	tr := decode[genesys.TokenResponse](t, body)
	if resp.StatusCode != 200 || tr.AccessToken == "" || tr.TokenType != "bearer" || tr.ExpiresIn != 5400 {
		t.Fatalf("token response %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		name, id, secret, form string
		status                 int
		code                   string
	}{
		{"no basic auth", "", "", "grant_type=client_credentials", 401, "invalid_client"},
		{"wrong secret", s.ClientID, "nope", "grant_type=client_credentials", 401, "invalid_client"},
		{"wrong client", "someone", s.ClientSecret, "grant_type=client_credentials", 401, "invalid_client"},
		{"wrong grant", s.ClientID, s.ClientSecret, "grant_type=password", 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.tokenRequest(tc.id, tc.secret, tc.form)
			e := decode[genesys.TokenError](t, body)
			if resp.StatusCode != tc.status || e.Error != tc.code || e.Description == "" || e.ErrorDescription == "" {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestClientCredentialsFromSeed(t *testing.T) {
	a, _ := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 5}})
	b, _ := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 5}})
	d, _ := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 12, Conversations: 5}, ClientID: "me", ClientSecret: "s3cret"})
	if a.ClientID != b.ClientID || a.ClientSecret != b.ClientSecret || a.OrgID != b.OrgID {
		t.Fatal("same seed, different credentials or org")
	}
	if d.ClientID != "me" || d.ClientSecret != "s3cret" || d.OrgID == a.OrgID {
		t.Fatal("flags not honoured or org id not seeded")
	}
}

func TestBearerRequired(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, TokenTTL: time.Hour, RateLimit: 300})
	path := "/api/v2/conversations/" + s.Org.ConversationID(0)
	c.must(200, "GET", path, nil)

	check := func(name string) {
		t.Helper()
		resp, b := c.do("GET", path, nil)
		e := errBody(t, resp, b, 401)
		if e.Code != genesys.CodeBadCredentials {
			t.Fatalf("%s: code %q", name, e.Code)
		}
		if resp.Header.Get(genesys.HeaderRateLimitAllowed) != "" {
			t.Fatalf("%s: a 401 with the removed inin-ratelimit-* headers", name)
		}
	}
	good := c.tok
	c.tok = ""
	check("missing")
	c.tok = "garbage"
	check("unknown")
	c.tok = good
	clock.Advance(time.Hour)
	check("expired")
	c.tok = c.token()
	c.must(200, "GET", path, nil)
	s.RevokeTokens()
	check("revoked")
	c.tok = c.token()
	c.must(200, "GET", path, nil)
}

func TestUnknownRoute(t *testing.T) {
	_, c := start(t, sim.Options{})
	resp, b := c.do("GET", "/api/v2/nothing/here", nil)
	errBody(t, resp, b, 404)
}
