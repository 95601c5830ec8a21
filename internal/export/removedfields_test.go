package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// syncBuffer is a bytes.Buffer the export's workers may log to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExportRemovedTextBody: behind a proxy that adds
// "textBody":"FAKE TEXTBODY" (and an empty media list) to every inbound
// message beside its real normalizedMessage.text, as no Genesys has sent
// since 2026-03-31, each message's content_sha256 is that of its real
// text, not the textBody's; the run warns once that the source is not
// today's Genesys, not once a message; verify --evidence passes.
func TestExportRemovedTextBody(t *testing.T) {
	e := newEnv(t, 30, "")
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(mustURL(t, e.srv.APIURL)) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.Contains(resp.Request.URL.Path, "/messages") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				return err
			}
			msgs := []any{v}
			if ents, ok := v["entities"].([]any); ok {
				msgs = ents
			}
			for _, m := range msgs {
				if m, ok := m.(map[string]any); ok && m["direction"] == "inbound" {
					m["textBody"], m["media"] = "FAKE TEXTBODY", []any{}
				}
			}
			if b, err = json.Marshal(v); err != nil {
				return err
			}
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)
	var logs syncBuffer
	acct, err := export.Run(context.Background(),
		export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = proxy.URL }), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 4, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	if n := strings.Count(logs.String(), "removed on 2026-03-31"); n != 1 {
		t.Errorf("%d warnings of removed members, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "fields=textBody,media") {
		t.Errorf("the warning names not the members:\n%s", logs.String())
	}
	inbound := 0
	for _, c := range whatsApp(e.srv.Org) {
		for _, m := range c.Messages {
			if m.Direction != "inbound" {
				continue
			}
			inbound++
			caps, err := e.ledger.EntriesByMessage(context.Background(), m.ID)
			if err != nil || len(caps) != 1 {
				t.Fatalf("message %s: %d captures, %v", m.ID, len(caps), err)
			}
			d, err := leaf.DecodeDetail(leaf.KindMessage, caps[0].Detail)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := hashchain.ParseHash(d.(*leaf.MessageDetail).OpeningEvidence)
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.store.Get(context.Background(), sum)
			if err != nil {
				t.Fatal(err)
			}
			o, err := leaf.ParseOpening(b)
			if err != nil {
				t.Fatal(err)
			}
			api := genesys.MessageData{NormalizedMessage: m.NormalizedMessage}
			if got, want := o.Fields["content_sha256"], genesys.ContentHash(genesys.MessageText(&api)); got != want {
				t.Fatalf("message %s: content_sha256 %s, want %s (its normalizedMessage.text %q; %s is FAKE TEXTBODY's)",
					m.ID, got, want, m.NormalizedMessage.Text, genesys.ContentHash("FAKE TEXTBODY"))
			}
		}
	}
	if inbound == 0 {
		t.Fatal("no inbound message")
	}
	checkVerified(t, e)
}
