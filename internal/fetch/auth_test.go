package fetch

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func okConversation(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, `{"id":"c1","participants":[]}`)
}

func TestTokenFetchAndUse(t *testing.T) {
	var gotAuth []string
	var mu sync.Mutex
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		okConversation(w, r)
	})
	clk := newFakeClock()
	c := f.client(clk)
	ctx := context.Background()
	for range 3 {
		if _, _, err := c.GetConversation(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token fetched %d times, want 1", n)
	}
	for _, a := range gotAuth {
		if a != "Bearer tok-1" {
			t.Errorf("Authorization = %q, want Bearer tok-1", a)
		}
	}
	f.mu.Lock()
	req, form := f.lastTokReq, f.lastForm
	f.mu.Unlock()
	if req.Method != http.MethodPost {
		t.Errorf("token method %s", req.Method)
	}
	wantBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testID+":"+testSecret))
	if got := req.Header.Get("Authorization"); got != wantBasic {
		t.Errorf("token Authorization = %q, want %q", got, wantBasic)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("token Content-Type %q", ct)
	}
	if form != "grant_type=client_credentials" {
		t.Errorf("token form %q", form)
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		expiresIn  int64
		renewAfter time.Duration // earliest renewal
	}{
		{"long token renews 60s early", 3600, 3540 * time.Second},
		{"short token renews at half-life", 90, 45 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, bearer(r))
				mu.Unlock()
				okConversation(w, r)
			})
			f.expiresIn.Store(tc.expiresIn)
			clk := newFakeClock()
			c := f.client(clk)
			ctx := context.Background()
			get := func() {
				t.Helper()
				if _, _, err := c.GetConversation(ctx, "c1"); err != nil {
					t.Fatal(err)
				}
			}
			get()
			clk.Advance(tc.renewAfter - time.Second)
			get() // still the first token
			clk.Advance(time.Second)
			get() // renewal due
			mu.Lock()
			defer mu.Unlock()
			want := []string{"tok-1", "tok-1", "tok-2"}
			if strings.Join(seen, ",") != strings.Join(want, ",") {
				t.Errorf("tokens used %v, want %v", seen, want)
			}
			if n := f.tokenCalls.Load(); n != 2 {
				t.Errorf("token calls %d, want 2", n)
			}
		})
	}
}

func TestRenewTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		in   int
		want time.Duration
	}{{86400, 86340 * time.Second}, {120, 60 * time.Second}, {119, 59500 * time.Millisecond}, {2, time.Second}} {
		if got := renewTime(t0, tc.in).Sub(t0); got != tc.want {
			t.Errorf("renewTime(%d) = +%s, want +%s", tc.in, got, tc.want)
		}
	}
	if !renewTime(t0, 0).IsZero() {
		t.Error("expires_in 0 should mean no known expiry")
	}
}

func TestReauthOnceOn401(t *testing.T) {
	t.Run("renewed token accepted", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if bearer(r) == "tok-1" {
				writeJSON(w, 401, `{"status":401,"code":"bad.credentials","message":"Invalid login credentials."}`)
				return
			}
			okConversation(w, r)
		})
		c := f.client(newFakeClock())
		if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
		if f.tokenCalls.Load() != 2 || f.apiCalls.Load() != 2 {
			t.Errorf("token calls %d, api calls %d; want 2, 2", f.tokenCalls.Load(), f.apiCalls.Load())
		}
		if s := c.Stats(); s.Reauths != 1 {
			t.Errorf("Reauths = %d, want 1", s.Reauths)
		}
	})
	t.Run("second 401 fails", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 401, `{"status":401,"code":"bad.credentials","message":"Invalid login credentials."}`)
		})
		c := f.client(newFakeClock())
		_, _, err := c.GetConversation(context.Background(), "c1")
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 401 || ae.Path != "/api/v2/conversations/c1" {
			t.Errorf("err = %#v, want *APIError 401 with path", err)
		}
		if !strings.Contains(err.Error(), "still unauthorized after renewing") {
			t.Errorf("error does not explain: %v", err)
		}
		if f.tokenCalls.Load() != 2 || f.apiCalls.Load() != 2 {
			t.Errorf("token calls %d, api calls %d; want 2, 2", f.tokenCalls.Load(), f.apiCalls.Load())
		}
	})
	t.Run("ready token cannot be renewed", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 401, `{"status":401}`)
		})
		c := f.client(newFakeClock(), func(cfg *Config) {
			cfg.ClientID, cfg.ClientSecret, cfg.AccessToken = "", "", "ready-token-xyz"
		})
		_, _, err := c.GetConversation(context.Background(), "c1")
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "cannot be renewed") {
			t.Fatalf("err = %v", err)
		}
		if f.tokenCalls.Load() != 0 || f.apiCalls.Load() != 1 {
			t.Errorf("token calls %d, api calls %d; want 0, 1", f.tokenCalls.Load(), f.apiCalls.Load())
		}
	})
	t.Run("ready token replaced by credentials", func(t *testing.T) {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if bearer(r) == "ready-token-xyz" {
				writeJSON(w, 401, `{"status":401}`)
				return
			}
			okConversation(w, r)
		})
		c := f.client(newFakeClock(), func(cfg *Config) { cfg.AccessToken = "ready-token-xyz" })
		if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
		if f.tokenCalls.Load() != 1 {
			t.Errorf("token calls %d, want 1", f.tokenCalls.Load())
		}
	})
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	f := newFakeAPI(t, okConversation)
	c := f.client(newFakeClock())
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.tokenCalls.Load(); n != 1 {
		t.Errorf("token fetched %d times by 16 concurrent callers, want 1", n)
	}
}

func TestTokenEndpointRefusal(t *testing.T) {
	f := newFakeAPI(t, okConversation)
	f.tokenFn = func(w http.ResponseWriter, r *http.Request) bool {
		// A hostile or buggy server echoing the credentials it got.
		writeJSON(w, 401, `{"error":"invalid_client","description":"bad secret `+testSecret+`","error_description":"client `+testID+` secret `+testSecret+` rejected"}`)
		return true
	}
	var logs logBuffer
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = debugLogger(&logs) })
	_, _, err := c.GetConversation(context.Background(), "c1")
	var ae *AuthError
	if !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want *AuthError matching ErrUnauthorized", err)
	}
	if ae.Status != 401 || ae.Code != "invalid_client" {
		t.Errorf("AuthError = %+v", ae)
	}
	if f.apiCalls.Load() != 0 {
		t.Error("an API call was made without a token")
	}
	if strings.Contains(err.Error(), testSecret) || strings.Contains(logs.String(), testSecret) {
		t.Errorf("secret leaked:\nerr: %v\nlog: %s", err, logs.String())
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("expected the echoed secret to be redacted: %v", err)
	}
}

func TestSecretsAndTokensNeverLoggedOrInErrors(t *testing.T) {
	// The API rejects every token and echoes it back in its error message;
	// retries, the re-auth and the failure are all logged at debug level.
	n := 0
	var mu sync.Mutex
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			writeJSON(w, 503, `{"status":503,"message":"busy, token `+bearer(r)+`"}`)
			return
		}
		writeJSON(w, 401, `{"status":401,"message":"token `+bearer(r)+` is invalid","code":"bad.credentials"}`)
	})
	var logs logBuffer
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = debugLogger(&logs) })
	_, _, err := c.GetMessage(context.Background(), "c1", "m1")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	out := err.Error() + "\n" + logs.String()
	for _, s := range []string{testSecret, "tok-1", "tok-2", base64.StdEncoding.EncodeToString([]byte(testID + ":" + testSecret))} {
		if strings.Contains(out, s) {
			t.Errorf("%q leaked into error or log:\n%s", s, out)
		}
	}
	if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "renewing once") {
		t.Errorf("expected retry and re-auth to be logged:\n%s", logs.String())
	}
}

func TestTokenResponseGarbage(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"no token", `{"token_type":"bearer","expires_in":60}`},
		{"token with newline", `{"access_token":"a\nb","token_type":"bearer","expires_in":60}`},
		{"wrong type", `{"access_token":"abc","token_type":"mac","expires_in":60}`},
		{"not an object", `["abc"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, okConversation)
			f.tokenFn = func(w http.ResponseWriter, r *http.Request) bool { writeJSON(w, 200, tc.body); return true }
			c := f.client(newFakeClock())
			_, _, err := c.GetConversation(context.Background(), "c1")
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *AuthError", err)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error quotes the token body: %v", err)
			}
		})
	}
}

// TestQuoteShortWholeCharacters: a host's message cut to its bound ends
// on a whole character, so what is shown is what the host said (no
// U+FFFD for half a character), within the bound and its "…".
func TestQuoteShortWholeCharacters(t *testing.T) {
	for _, ch := range []string{"é", "€", "😀"} {
		for n := 1; n <= 12; n++ {
			got := quoteShort(strings.Repeat(ch, 10), n)
			if !utf8.ValidString(got) || strings.ContainsRune(got, utf8.RuneError) {
				t.Errorf("quoteShort(%q×10, %d) = %q: half a character", ch, n, got)
			}
			if body := strings.TrimSuffix(got, "…"); len(body) > n || !strings.HasPrefix(strings.Repeat(ch, 10), body) {
				t.Errorf("quoteShort(%q×10, %d) = %q: not a prefix within %d bytes", ch, n, got, n)
			}
		}
	}
}
