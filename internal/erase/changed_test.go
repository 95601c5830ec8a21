package erase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// exportVia exports the matter again through apiURL (a proxy of the
// simulator's API).
func (m *matter) exportVia(t *testing.T, apiURL string) *export.Accounting {
	t.Helper()
	c, err := fetch.New(fetch.Config{ClientID: m.srv.ClientID, ClientSecret: m.srv.ClientSecret, APIURL: apiURL,
		LoginURL: m.srv.LoginURL, Rate: 1e9, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: m.le.Ledger, Evidence: m.le.Store}, export.Options{
		Scope: export.Scope{Matter: "m", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: m.le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return acct
}

// editingProxy serves the simulator's API with the texts of edits
// replaced in every bulk-messages response (old → new, JSON-encoded), as
// if those messages had changed at the source since the first capture.
func editingProxy(t *testing.T, m *matter, edits map[string]string) string {
	t.Helper()
	target, err := url.Parse(m.srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/messages/bulk") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			for old, repl := range edits {
				b = bytes.ReplaceAll(b, []byte(old), []byte(repl))
			}
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)
	return proxy.URL
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEraseAfterChangeAtSource: a conversation captured, then captured
// again after one of its messages changed at the source, holds every
// message in two bulk response bodies: the first capture's, and the one
// the later conversation entry (and the changed message's entry) names.
// Erasing another message of it, unchanged, deletes both — its text is
// in no file of the matter — with the other messages collateral, and
// verify --evidence holds; erasing a whole such conversation deletes
// every body too. Before, erasing the message deleted only the body its
// own entries named, and its text survived in the later one.
func TestEraseAfterChangeAtSource(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)

	// In each of two conversations one message whose text is its own
	// (plain, found in no other conversation) is edited at the source; in
	// the first another such message, left as it is, is then erased.
	inConvs := map[string]int{} // how many conversations of the org hold a text
	for i := range m.srv.Org.Len() {
		c := m.srv.Org.ConversationAt(i)
		seen := map[string]bool{}
		for k := range c.Messages {
			if text := genesys.MessageText(&c.Messages[k]); !seen[text] {
				seen[text] = true
				inConvs[text]++
			}
		}
	}
	plain := func(conv string) (ids, texts []string) {
		c, ok := m.srv.Org.Conversation(conv)
		if !ok {
			t.Fatalf("conversation %s not in the org", conv)
		}
		for k := range c.Messages {
			md := &c.Messages[k]
			text := genesys.MessageText(md)
			if md.NormalizedMessage == nil || len(md.NormalizedMessage.Content) > 0 || md.NormalizedMessage.Text != text || len(text) < 8 || inConvs[text] != 1 || slices.Contains(texts, text) {
				continue // a plain text of its own, as it stands in the body
			}
			ids, texts = append(ids, md.ID), append(texts, text)
		}
		return ids, texts
	}
	edits := map[string]string{}
	edit := func(text string) { edits[jsonString(t, text)] = jsonString(t, "EDITED AT THE SOURCE "+text) }
	var partConv, wholeConv, target, targetText, edited string
	for _, c := range free {
		ids, texts := plain(c)
		switch {
		case partConv == "" && len(ids) >= 2:
			partConv, edited, target, targetText = c, ids[0], ids[1], texts[1]
			edit(texts[0])
		case wholeConv == "" && len(ids) >= 1:
			wholeConv = c
			edit(texts[0])
		}
	}
	if partConv == "" || wholeConv == "" {
		t.Fatal("the fixture has no two conversations with plain texts of their own to edit (and erase)")
	}

	convEntries := func(conv string) int {
		n := 0
		for _, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation, ConversationID: conv}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	t.Logf("edits %q; erasing %s (%q)", edits, target, targetText)
	acct := m.exportVia(t, editingProxy(t, m, edits))
	if acct.MessagesChanged < 2 || convEntries(partConv) != 2 || convEntries(wholeConv) != 2 {
		t.Fatalf("second export: %d messages changed, %d and %d conversation entries: want the edits captured",
			acct.MessagesChanged, convEntries(partConv), convEntries(wholeConv))
	}
	if hits := grepTree(t, m.le.Dir, []string{targetText}); len(hits) < 2 {
		t.Fatalf("the text to erase is in %d files, want both bulk bodies: %v", len(hits), hits)
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{target}, Reason: "DSR-7", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if hits := grepTree(t, m.le.Dir, []string{targetText}); len(hits) > 0 {
		t.Errorf("the erased message's text is still in the matter's files: %v", hits)
	}
	if !slices.Contains(res.Detail.Collateral, edited) || slices.Contains(res.Detail.Collateral, target) {
		t.Errorf("collateral %v: want the changed message %s, not the erased one", res.Detail.Collateral, edited)
	}
	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || rep.Evidence.Erased != len(res.Detail.Erased) {
		t.Fatalf("verify after erasing the message: %v %+v (erased %d)", rep.Findings, rep.Evidence, len(res.Detail.Erased))
	}

	needles := secrets(t, m.srv.Org, wholeConv, false)
	for _, repl := range edits {
		var s string
		if err := json.Unmarshal([]byte(repl), &s); err == nil && strings.Contains(s, needles[0]) {
			needles = append(needles, s)
		}
	}
	whole, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{wholeConv}, Reason: "DSR-8", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) > 0 {
		t.Errorf("the erased conversation's text is still in the matter's files: %v", hits)
	}
	rep = m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || rep.Evidence.Erased != len(res.Detail.Erased)+len(whole.Detail.Erased) {
		t.Fatalf("verify after erasing the conversation: %v %+v", rep.Findings, rep.Evidence)
	}

	// The report: the erased message erased, the changed message of its
	// conversation body_erased (its latest body is gone too), no message
	// shown with evidence it cannot read.
	out := filepath.Join(t.TempDir(), "report")
	rr, err := report.Generate(ctx, m.le.Ledger, m.le.Store, report.Options{Out: out, Proofs: report.ProofsNone, SignerKey: m.le.Key, Operator: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(rr.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Doc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range doc.Transcripts.Items {
		if c.ID != partConv {
			continue
		}
		for _, msg := range c.Messages {
			switch msg.ID {
			case target:
				seen++
				if !slices.Equal(msg.Status, []string{"erased"}) || msg.Text != "" {
					t.Errorf("erased message in the report: %+v", msg)
				}
			case edited:
				seen++
				if !slices.Contains(msg.Status, "body_erased") || msg.BodyErased == nil || msg.Text != "" {
					t.Errorf("changed message in the report: %+v", msg)
				}
			}
			if msg.Error != "" {
				t.Errorf("message %s in the report: %s", msg.ID, msg.Error)
			}
		}
	}
	if seen != 2 {
		t.Errorf("the report shows %d of the two messages", seen)
	}
}
