package fetch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNoToken: a request that cannot get its token — the login host
// unreachable, or refusing the credentials — fails with an error that
// matches ErrNoToken (and, for a refusal, ErrUnauthorized too) and reads as
// the token endpoint's own error; requests waiting on that fetch share
// its failure (one round of retries for all, not one each); ApplyOrgLimits
// returns it rather than pacing on as if the limits were merely
// unreadable, since no request can be sent.
func TestNoToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_client","description":"client not found"}`))
	}))
	defer refusing.Close()
	for _, tc := range []struct {
		name, login, says string
		unauthorized      bool
	}{
		{"unreachable", dead, "POST /oauth/token: dial tcp", false},
		{"refused", refusing.URL, "authentication failed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{ClientID: "id", ClientSecret: "secret", APIURL: "http://127.0.0.1:1", LoginURL: tc.login, Rate: 1e9,
				Backoff: func(int) time.Duration { return time.Millisecond }})
			if err != nil {
				t.Fatal(err)
			}
			const callers = 6
			errs := make(chan error, callers)
			for range callers {
				go func() {
					_, _, err := c.GetConversation(context.Background(), "c1")
					errs <- err
				}()
			}
			for range callers {
				err := <-errs
				if !errors.Is(err, ErrNoToken) || errors.Is(err, ErrUnauthorized) != tc.unauthorized || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("GetConversation: %v (ErrNoToken %v, ErrUnauthorized %v); want ErrNoToken, saying %q", err, errors.Is(err, ErrNoToken), errors.Is(err, ErrUnauthorized), tc.says)
				}
			}
			if n := c.Stats().Endpoints[RouteToken].Requests; n > DefaultMaxAttempts {
				t.Errorf("%d callers sent %d token requests: want one fetch's retries (at most %d), shared", callers, n, DefaultMaxAttempts)
			}
			if _, err := c.ApplyOrgLimits(context.Background()); !errors.Is(err, ErrNoToken) {
				t.Errorf("ApplyOrgLimits: %v, want ErrNoToken", err)
			}
		})
	}
}
