package erase_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// rewritingProxy serves the simulator's API with every JSON response's
// old strings replaced (old → new, in order), as if the organisation's
// data said so; replaced counts the replacements made, by old.
func rewritingProxy(t *testing.T, m *matter, edits [][2]string) (proxyURL string, replaced map[string]*atomic.Int64) {
	t.Helper()
	target, err := url.Parse(m.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	replaced = map[string]*atomic.Int64{}
	for _, e := range edits {
		replaced[e[0]] = &atomic.Int64{}
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			for _, e := range edits {
				replaced[e[0]].Add(int64(bytes.Count(b, []byte(e[0]))))
				b = bytes.ReplaceAll(b, []byte(e[0]), []byte(e[1]))
			}
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)
	return proxy.URL, replaced
}

// TestEraseReasonNotPersonal: reasons that hold no personal value of
// what is erased are accepted, though they hold words or numbers of the
// conversation: its customer is called Will Jensen (first name "Will")
// and the reason says "erasure will proceed"; the customer wrote "delete
// my data" and the reason quotes it; the business's own number and its
// channel's name ("Acme Support", on the organisation's side of every
// message) are in the reason. The customer's phone number, however
// spaced, their full name in any case and a distinctive text of theirs
// are still refused. Before (commit review 1, L3), the first four were
// refused: names matched in any case as one word, texts of 8 characters
// and more as substrings, and the organisation's side of each message
// counted as the person's.
func TestEraseReasonNotPersonal(t *testing.T) {
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 14, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.3},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	m := &matter{srv: srv, le: ledgertest.New(t, "m")}
	// A WhatsApp conversation with a customer of two names, a plain
	// inbound text to replace, another to quote, and an outbound message.
	var conv *sim.ConvData
	var customer, first, phone, business, generic, distinctive string
	for i := range srv.Org.Len() {
		c := srv.Org.ConversationAt(i)
		if c.Kind != sim.KindWhatsApp {
			continue
		}
		customer, phone, business, generic, distinctive = "", "", "", "", ""
		for _, p := range c.MessageConversation.Participants {
			if p.Purpose == "customer" {
				customer, phone = p.Name, p.Address
			}
		}
		for k := range c.Messages {
			md := &c.Messages[k]
			text := genesys.MessageText(md)
			switch {
			case md.Direction == "outbound":
				business = md.FromAddress
			case md.NormalizedMessage == nil || len(md.NormalizedMessage.Content) > 0 || strings.ContainsAny(text, `<>&"\`):
			case generic == "" && len(text) >= 12:
				generic = text
			case distinctive == "" && len(text) >= 20 && text != generic:
				distinctive = text
			}
		}
		if f := strings.Fields(customer); len(f) == 2 && strings.HasPrefix(phone, "+") && business != "" && generic != "" && distinctive != "" {
			conv, first = c, f[0]
			break
		}
	}
	if conv == nil {
		t.Fatal("no WhatsApp conversation in the fixture with a customer of two names, an outbound message and two plain inbound texts")
	}
	last := strings.Fields(customer)[1]
	will := "Will " + last
	proxyURL, replaced := rewritingProxy(t, m, [][2]string{
		{`"` + customer + `"`, `"` + will + `"`},
		{`"` + first + `"`, `"Will"`},
		{jsonString(t, generic), `"delete my data"`},
		{`{"id":"` + business + `","idType":"Phone"}`, `{"id":"` + business + `","idType":"Phone","nickname":"Acme Support"}`},
	})
	m.exportVia(t, proxyURL)
	for old, n := range replaced {
		if n.Load() == 0 {
			t.Fatalf("the proxy found no %s to replace: the fixture changed", old)
		}
	}
	ctx := context.Background()
	size := m.size(t)
	check := func(reason string) error {
		t.Helper()
		_, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{conv.ID}, Reason: reason, Operator: "dpo", DryRun: true})
		if err != nil && !errors.Is(err, erase.ErrPersonalReason) {
			t.Fatalf("dry run with reason %q: %v", reason, err)
		}
		return err
	}
	d := strings.TrimPrefix(phone, "+")
	for _, reason := range []string{
		"DSR-1042, erasure will proceed per counsel",
		"DSR-1042: Will proceed once counsel agrees",
		"DSR-1042: customer asked us to delete my data per GDPR art. 17",
		"Acme Support ticket DSR-1042",
		"DSR-1042: our replies came from " + business,
		"DSR-1042 received 2024-05-01",
		"ref 9" + d + "1",
	} {
		if err := check(reason); err != nil {
			t.Errorf("reason %q refused: %v", reason, err)
		}
	}
	for _, c := range []struct{ reason, kind string }{
		{"DSR from " + phone, "holds a sender's or recipient's address"},
		{"DSR, caller " + d[:2] + " " + d[2:5] + "-" + d[5:8] + " " + d[8:], "holds a sender's or recipient's address"},
		{"DSR, caller (+" + d[:2] + ") " + d[2:6] + "." + d[6:], "holds a sender's or recipient's address"},
		{"DSR for " + will, "holds a participant's name"},
		{"DSR for " + strings.ToUpper(will), "holds a participant's name"},
		{"DSR for " + strings.ToLower(will) + ", see file", "holds a participant's name"},
		{"DSR re: " + distinctive, "holds a message's text"},
	} {
		if err := check(c.reason); !strings.Contains(errString(err), c.kind) {
			t.Errorf("reason %q: %v, want a refusal naming the %s", c.reason, err, c.kind)
		}
	}
	if got := m.size(t); got != size {
		t.Fatalf("dry runs appended %d entries", got-size)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
