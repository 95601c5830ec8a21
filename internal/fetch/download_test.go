package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDownload(t *testing.T) {
	media := []byte("\x89PNG\r\n\x1a\n not json at all")
	var mediaAuth atomic.Value
	var mediaCalls atomic.Int64
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mediaCalls.Add(1) == 1 {
			w.WriteHeader(502)
			return
		}
		mediaAuth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(media)
	}))
	defer cdn.Close()

	var apiAuth atomic.Value
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		apiAuth.Store(r.Header.Get("Authorization"))
		_, _ = w.Write(media)
	})
	var logs logBuffer
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.Logger = debugLogger(&logs) })
	ctx := context.Background()

	t.Run("foreign host gets no token", func(t *testing.T) {
		resp, err := c.Download(ctx, cdn.URL+"/bucket/obj.png?X-Amz-Signature=SIGSECRET&X-Amz-Expires=60")
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != string(media) || resp.Attempts != 2 {
			t.Errorf("body %q attempts %d", resp.Body, resp.Attempts)
		}
		if a := mediaAuth.Load().(string); a != "" {
			t.Errorf("media host got Authorization %q", a)
		}
		if resp.Path != "/bucket/obj.png" || resp.Route != RouteDownload {
			t.Errorf("Path %q Route %q", resp.Path, resp.Route)
		}
		if strings.Contains(logs.String(), "SIGSECRET") {
			t.Error("pre-signed query logged")
		}
		if err := CheckSHA256(resp.Body, SHA256Hex(media)); err != nil {
			t.Error(err)
		}
	})
	t.Run("api host gets the token", func(t *testing.T) {
		if _, err := c.Download(ctx, f.srv.URL+"/api/v2/downloads/x"); err != nil {
			t.Fatal(err)
		}
		if a := apiAuth.Load().(string); a != "Bearer tok-1" {
			t.Errorf("api host got Authorization %q", a)
		}
		if _, err := c.Download(ctx, "/api/v2/downloads/y"); err != nil {
			t.Fatalf("relative url: %v", err)
		}
	})
	t.Run("bad urls", func(t *testing.T) {
		for _, u := range []string{"file:///etc/passwd", "ftp://x/y", "http://user:pw@h/x", "//evil/x", "not a url", ""} {
			if _, err := c.Download(ctx, u); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Download(%q) err = %v", u, err)
			}
		}
	})
	t.Run("size limit", func(t *testing.T) {
		// An attachment has a bound of its own, larger or smaller than
		// an API response's.
		small := f.client(newFakeClock(), func(cfg *Config) { cfg.MaxDownloadBytes = 8 })
		if _, err := small.Download(ctx, cdn.URL+"/big"); !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v", err)
		}
		large := f.client(newFakeClock(), func(cfg *Config) { cfg.MaxResponseBytes = 8 })
		if _, err := large.Download(ctx, cdn.URL+"/big"); err != nil {
			t.Errorf("a download under MaxDownloadBytes, over MaxResponseBytes: %v", err)
		}
	})
}

func TestCheckSHA256(t *testing.T) {
	body := []byte("hello")
	sum := sha256.Sum256(body)
	for _, want := range []string{
		hex.EncodeToString(sum[:]),
		strings.ToUpper(hex.EncodeToString(sum[:])),
		base64.StdEncoding.EncodeToString(sum[:]),
		base64.RawURLEncoding.EncodeToString(sum[:]),
	} {
		if err := CheckSHA256(body, want); err != nil {
			t.Errorf("CheckSHA256(%q): %v", want, err)
		}
	}
	if err := CheckSHA256([]byte("hellO"), hex.EncodeToString(sum[:])); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("mismatch: %v", err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("z", 64), base64.StdEncoding.EncodeToString([]byte("short"))} {
		if err := CheckSHA256(body, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("CheckSHA256(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}
