package fetch

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

const benchBody = `{"id":"m1","timestamp":"2025-01-01T00:00:00.123Z","direction":"inbound","messengerType":"whatsapp","normalizedMessage":{"type":"Text","text":"hello there, this is a typical short WhatsApp message"}}`

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			_, _ = io.WriteString(w, `{"access_token":"tok","token_type":"bearer","expires_in":86400}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkRawHTTP is the baseline: a bare GET and body read.
func BenchmarkRawHTTP(b *testing.B) {
	srv := benchServer(b)
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Get(srv.URL + "/api/v2/conversations/messages/c1/messages/m1")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkClientGetMessage is the same exchange through the client:
// pacer (unlimited), token, headers, JSON validation, typed decode, stats.
// Its difference from BenchmarkRawHTTP is the client's overhead.
func BenchmarkClientGetMessage(b *testing.B) {
	srv := benchServer(b)
	c, err := New(Config{ClientID: "i", ClientSecret: "s", APIURL: srv.URL, Rate: math.Inf(1)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.GetMessage(ctx, "c1", "m1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientGetMessageParallel measures contention on the shared
// pacer, token and counters with concurrent workers.
func BenchmarkClientGetMessageParallel(b *testing.B) {
	srv := benchServer(b)
	c, err := New(Config{ClientID: "i", ClientSecret: "s", APIURL: srv.URL, Rate: math.Inf(1)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.GetMessage(ctx, "c1", "m1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
