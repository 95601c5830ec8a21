package fetch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
)

func TestRedactorForms(t *testing.T) {
	const id, secret, tok = "0e5c-id", "S3cr3t+/with<html>&\"quote\"", "tok-AbC_123-xyz"
	r := NewRedactor()
	r.AddCredentials(id, secret)
	r.Add(tok)
	pair := id + ":" + secret
	jsonOf := func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }
	for name, leak := range map[string]string{
		"secret":             secret,
		"id:secret":          pair,
		"base64 std":         base64.StdEncoding.EncodeToString([]byte(pair)),
		"base64 raw std":     base64.RawStdEncoding.EncodeToString([]byte(pair)),
		"base64 url":         base64.URLEncoding.EncodeToString([]byte(pair)),
		"base64 raw url":     base64.RawURLEncoding.EncodeToString([]byte(pair)),
		"secret JSON":        jsonOf(secret),
		"secret query":       url.QueryEscape(secret),
		"secret path":        url.PathEscape(secret),
		"basic in a query":   url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(pair))),
		"token":              tok,
		"token in a URL":     "https://h/x?access_token=" + tok,
		"id:secret JSON":     jsonOf(pair),
		"Authorization line": "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(pair)),
	} {
		t.Run(name, func(t *testing.T) {
			got := r.Redact("before " + leak + " after")
			if !strings.Contains(got, Redacted) || strings.Contains(got, secret) || strings.Contains(got, tok) ||
				strings.Contains(got, "S3cr3t") || strings.Contains(got, base64.RawStdEncoding.EncodeToString([]byte(pair))[:40]) {
				t.Errorf("Redact(%q) = %q", leak, got)
			}
			if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") {
				t.Errorf("Redact changed the text around: %q", got)
			}
		})
	}
	if got := r.Redact("client " + id + " is fine"); got != "client "+id+" is fine" {
		t.Errorf("the client id alone is not a secret: %q", got)
	}
	var nilR *Redactor
	if nilR.Redact(secret) != secret || nilR.Err(nil) != nil {
		t.Error("a nil Redactor changes nothing")
	}
	short := NewRedactor()
	short.AddCredentials("i", "s")
	if got := short.Redact("is this safe: i:s"); got != "is this safe: i:s" {
		t.Errorf("values under %d bytes redacted: %q", minSecretLen, got)
	}
}

func TestRedactorErrKeepsMatching(t *testing.T) {
	r := NewRedactor()
	r.Add("tok-secret-value")
	inner := &APIError{Status: 404, Method: "GET", Path: "/x/tok-secret-value"}
	err := r.Err(fmt.Errorf("fetch: outer: %w: %w", inner, syscall.ECONNRESET))
	if strings.Contains(err.Error(), "tok-secret-value") || !strings.Contains(err.Error(), Redacted) {
		t.Errorf("Err = %v", err)
	}
	var ae *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("redacted error no longer matches: %v", err)
	}
	clean := errors.New("nothing here")
	if r.Err(clean) != clean {
		t.Error("an error without credentials is wrapped")
	}
}

func TestRedactorHeaderAndHandler(t *testing.T) {
	r := NewRedactor()
	r.AddCredentials("id", "the-secret")
	r.Add("tok-12345")
	h := http.Header{"Ininn-Correlation-Id": {"tok-12345"}, "X-Other": {"a", "Bearer tok-12345"}}
	got := r.Header(h)
	if got.Get("Ininn-Correlation-Id") != Redacted || got["X-Other"][1] != "Bearer "+Redacted || got["X-Other"][0] != "a" {
		t.Errorf("Header = %v", got)
	}
	if h.Get("Ininn-Correlation-Id") != "tok-12345" {
		t.Error("Header changed its argument")
	}
	plain := http.Header{"A": {"b"}}
	if r.Header(plain)["A"][0] != "b" {
		t.Error("Header changed a clean header")
	}

	for _, format := range []string{"text", "json"} {
		var buf logBuffer
		var base slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			base = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(r.Handler(base)).With("bound", "the-secret").WithGroup("g")
		log.Info("message tok-12345",
			"s", "Bearer tok-12345",
			"err", errors.New("echo the-secret"),
			"bytes", []byte("tok-12345"),
			"stringer", stringer("tok-12345"),
			"map", map[string]string{"k": "tok-12345"},
			slog.Group("nested", "x", "id:the-secret"),
			"n", 42)
		out := buf.String()
		if strings.Contains(out, "tok-12345") || strings.Contains(out, "the-secret") || !strings.Contains(out, "42") {
			t.Errorf("%s log leaks or lost a value:\n%s", format, out)
		}
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestEchoedCredentialsRedactedEverywhere: a server echoes the previous
// token, the current one and the Basic credentials in the correlation id,
// the error body (nested too) and a transport error; every error, header
// and log line of the client comes out clean.
func TestEchoedCredentialsRedactedEverywhere(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testID + ":" + testSecret))
	n := 0
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		tok := bearer(r)
		w.Header().Set(genesys.HeaderCorrelationID, tok)
		w.Header().Set("X-Echo", "Bearer "+tok+" "+basic)
		switch n {
		case 1: // the first token is rejected: the client renews it
			writeJSON(w, 401, `{"status":401,"message":"bad token `+tok+`"}`)
		case 2: // now echo the old one, the new one and the credentials, nested
			writeJSON(w, 400, `{"status":400,"message":"tok-1 then `+tok+`","code":"`+tok+`","contextId":"`+tok+`",`+
				`"messageParams":{"a":"`+basic+`"},"errors":[{"message":"`+testID+`:`+testSecret+`"}],"details":[{"entityId":"`+tok+`"}]}`)
		default: // success with the token in headers and in the body
			writeJSON(w, 200, `{"id":"c1","echo":"`+tok+`"}`)
		}
	})
	var logs logBuffer
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = debugLogger(&logs) })
	_, _, err := c.GetConversation(context.Background(), "c1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("err = %v", err)
	}
	body, _ := json.Marshal(ae.Body)
	_, resp, err := c.GetConversation(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := json.Marshal(resp.Header)
	out := strings.Join([]string{ae.Error(), string(body), ae.CorrelationID, resp.CorrelationID, string(hdr), logs.String()}, "\n")
	for _, leak := range []string{"tok-1", "tok-2", testSecret, basic} {
		if strings.Contains(out, leak) {
			t.Errorf("%q leaked:\n%s", leak, out)
		}
	}
	if !strings.Contains(string(resp.Body), `"echo":"tok-2"`) {
		t.Errorf("a 2xx body must stay byte-exact (it is evidence): %s", resp.Body)
	}
	if c.Stats().SecretEchoes != 1 || !strings.Contains(logs.String(), "rotate the client secret") {
		t.Errorf("echo in a 2xx body not reported: %d\n%s", c.Stats().SecretEchoes, logs.String())
	}
	if !strings.Contains(c.Redact("x tok-1 tok-2 y"), "x "+Redacted+" "+Redacted+" y") {
		t.Error("Client.Redact does not know both tokens")
	}
}

func TestSharedRedactorLearnsTokens(t *testing.T) {
	f := newFakeAPI(t, okConversation)
	shared := NewRedactor()
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Redactor = shared; cfg.AccessToken = "ready-token-1" })
	if c.Redactor() != shared {
		t.Fatal("Config.Redactor not used")
	}
	if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	got := shared.Redact(testSecret + " ready-token-1")
	if got != Redacted+" "+Redacted {
		t.Errorf("shared redactor: %q", got)
	}
}

// FuzzRedact: whatever surrounds them, no registered credential (in any
// form the redactor knows) survives Redact.
func FuzzRedact(f *testing.F) {
	const id, secret, tok = "client-7", "Zm9v+YmFy/c2VjcmV0=", "eyJhbGciOi.tok-9"
	basic := base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
	for _, s := range []string{"", "Authorization: Basic ", "tok-", `{"message":"`, "%2B", "[REDACTED]", basic[:10]} {
		f.Add(s, s, uint8(0))
	}
	r := NewRedactor()
	r.AddCredentials(id, secret)
	r.Add(tok)
	forms := []string{secret, id + ":" + secret, basic, base64.RawURLEncoding.EncodeToString([]byte(id + ":" + secret)), tok, url.QueryEscape(secret)}
	f.Fuzz(func(t *testing.T, before, after string, which uint8) {
		leak := forms[int(which)%len(forms)]
		out := r.Redact(before + leak + after + leak)
		for _, x := range forms {
			if strings.Contains(out, x) {
				t.Fatalf("Redact(%q) = %q still holds %q", before+leak+after+leak, out, x)
			}
		}
	})
}

func TestBaseURLErrorHidesPassword(t *testing.T) {
	_, err := New(Config{ClientID: "i", ClientSecret: "s", APIURL: "https://user:hunter2-pass@api.example.com"})
	if !errors.Is(err, ErrInvalidArgument) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
