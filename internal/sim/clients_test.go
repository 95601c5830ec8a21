package sim_test

import (
	"net/http"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// tokenFor gets a token for one of the server's clients.
func (c *client) tokenFor(cr sim.Credentials) string {
	c.t.Helper()
	resp, body := c.tokenRequest(cr.ID, cr.Secret, "grant_type=client_credentials")
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("token for %s: %d %s", cr.ID, resp.StatusCode, body)
	}
	return decode[genesys.TokenResponse](c.t, body).AccessToken
}

// TestClientsHaveTheirOwnBuckets: each OAuth client has its own limit;
// a client's second token shares the client's bucket (ClientRateLimit),
// while the per-token limit still applies to each token.
func TestClientsHaveTheirOwnBuckets(t *testing.T) {
	clock := newClock()
	s, c := start(t, sim.Options{Now: clock.Now, RateLimit: 10, ClientRateLimit: 15, ExtraClients: 2})
	if len(s.Clients) != 3 || s.Clients[0].ID != s.ClientID || s.Clients[1].ID == s.Clients[2].ID || s.Clients[1].Secret == s.Clients[2].Secret || s.Clients[1].Secret == s.ClientSecret {
		t.Fatalf("clients %d, want 3 distinct", len(s.Clients))
	}
	path := "/api/v2/conversations/" + s.Org.ConversationID(0)
	spend := func(tok string, n int) (ok int) {
		c.tok = tok
		for range n {
			if resp, _ := c.do("GET", path, nil); resp.StatusCode == 200 {
				ok++
			}
		}
		return ok
	}
	if got := spend(c.tokenFor(s.Clients[0]), 12); got != 10 {
		t.Fatalf("client 1, token 1: %d of 12 passed, want the token's 10", got)
	}
	if got := spend(c.tokenFor(s.Clients[0]), 12); got != 5 {
		t.Fatalf("client 1, token 2: %d of 12 passed, want the client's 5 left of 15", got)
	}
	if got := spend(c.tokenFor(s.Clients[1]), 12); got != 10 {
		t.Fatalf("client 2: %d of 12 passed, want its own 10", got)
	}
	if resp, _ := c.tokenRequest(s.Clients[2].ID, s.Clients[1].Secret, "grant_type=client_credentials"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another client's secret: %d, want 401", resp.StatusCode)
	}
}

// TestLimitsEndpoint: the org's effective limits in the SDK's
// LimitsEntityListing, strictly decoded; 403 when forbidden; 404 for an
// unknown namespace.
func TestLimitsEndpoint(t *testing.T) {
	_, c := start(t, sim.Options{RateLimit: 300, ClientRateLimit: 3000})
	type limit struct {
		Key       string  `json:"key"`
		Namespace string  `json:"namespace"`
		Value     float64 `json:"value"`
	}
	got := decode[struct {
		Entities []limit `json:"entities"`
	}](t, c.must(200, "GET", "/api/v2/organizations/limits/namespaces/platform.api", nil))
	want := map[string]float64{sim.LimitClientCredentialsToken: 300, sim.LimitToken: 300, sim.LimitOrgAppUser: 3000}
	if len(got.Entities) != len(want) {
		t.Fatalf("entities %+v", got.Entities)
	}
	for _, e := range got.Entities {
		if e.Namespace != "platform.api" || want[e.Key] != e.Value {
			t.Errorf("limit %+v", e)
		}
	}
	if b := c.must(200, "GET", "/api/v2/organizations/limits/namespaces/analytics", nil); string(b) != `{"entities":[]}` {
		t.Errorf("analytics: %s", b)
	}
	c.must(404, "GET", "/api/v2/organizations/limits/namespaces/no.such", nil)

	s2, c2 := start(t, sim.Options{RateLimit: 300, LimitsForbidden: true})
	resp, b := c2.do("GET", "/api/v2/organizations/limits/namespaces/platform.api", nil)
	if e := errBody(t, resp, b, 403); e.Code != "missing.any.permissions" {
		t.Errorf("forbidden: %s", b)
	}
	if st := s2.Stats(); st.Routes[sim.LimitsRoute].Requests != 1 {
		t.Errorf("stats %+v", st.Routes)
	}
}
