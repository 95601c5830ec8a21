package sim_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func TestEchoFault(t *testing.T) {
	s, c := start(t, sim.Options{Faults: "echo@1:400,echo@2,echo@3:200"})
	const path = "/api/v2/conversations/messages/"
	id := s.Org.ConversationID(0)
	for _, tc := range []struct {
		name   string
		status int
	}{{"400 quoting the headers", 400}, {"500 quoting the headers", 500}, {"served, headers echo", 200}} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do("GET", path+id, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get(genesys.HeaderCorrelationID); got != c.tok {
				t.Errorf("ININ-Correlation-Id = %q, want the token", got)
			}
			if got := resp.Header.Get(sim.HeaderEchoAuthorization); got != "Bearer "+c.tok {
				t.Errorf("%s = %q, want the Authorization header", sim.HeaderEchoAuthorization, got)
			}
			if tc.status == 200 {
				decode[genesys.MessageConversation](t, body)
				return
			}
			eb := errBody(t, resp, body, tc.status)
			if !strings.Contains(eb.Message, "Authorization: Bearer "+c.tok) || eb.ContextID != c.tok {
				t.Errorf("error body does not quote the token: %+v", eb)
			}
		})
	}
	if resp, _ := c.do("GET", path+id, nil); resp.Header.Get(sim.HeaderEchoAuthorization) != "" {
		t.Error("the 4th request echoes too")
	}
}

func TestOAuthEchoFault(t *testing.T) {
	// start's own token request is the first.
	s, c := start(t, sim.Options{Faults: "oauthecho@2:401,oauthecho@3:200"})
	basic := base64.StdEncoding.EncodeToString([]byte(s.ClientID + ":" + s.ClientSecret))

	resp, body := c.tokenRequest(s.ClientID, s.ClientSecret, "grant_type=client_credentials")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	te := decode[genesys.TokenError](t, body)
	if !strings.Contains(te.Description, "Basic "+basic) || !strings.Contains(te.Description, s.ClientID+":"+s.ClientSecret) {
		t.Errorf("description does not quote the credentials: %q", te.Description)
	}
	if resp.Header.Get(genesys.HeaderCorrelationID) != basic {
		t.Errorf("ININ-Correlation-Id = %q, want the Basic credentials", resp.Header.Get(genesys.HeaderCorrelationID))
	}

	resp, body = c.tokenRequest(s.ClientID, s.ClientSecret, "grant_type=client_credentials")
	if resp.StatusCode != http.StatusOK || resp.Header.Get(sim.HeaderEchoAuthorization) != "Basic "+basic {
		t.Fatalf("status %d, echo %q: %s", resp.StatusCode, resp.Header.Get(sim.HeaderEchoAuthorization), body)
	}
	tok := decode[genesys.TokenResponse](t, body).AccessToken
	found := false
	for _, x := range s.IssuedTokens() {
		found = found || x == tok
	}
	if !found || len(s.IssuedTokens()) != 2 {
		t.Errorf("IssuedTokens = %v, want 2 with %q", s.IssuedTokens(), tok)
	}
}
