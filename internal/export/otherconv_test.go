package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/verify"
)

// rewriteProxy is a proxy in front of srv's API whose rewrite changes
// the body of every 200 answer (method, path) to the given one.
func rewriteProxy(t *testing.T, srv *sim.Server, rewrite func(method, path string, body []byte) []byte) string {
	t.Helper()
	up, err := url.Parse(srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = rewrite(resp.Request.Method, resp.Request.URL.Path, body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.Header.Del("Content-Encoding")
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy.URL
}

// editJSON decodes body, lets edit change it and encodes it again.
func editJSON(t *testing.T, body []byte, edit func(map[string]any)) []byte {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("proxy: %v", err)
		return body
	}
	edit(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Errorf("proxy: %v", err)
	}
	return out
}

// TestExportRefusesAnswersAboutAnotherConversation: an answer that is not
// about the conversation asked for — an empty {} for its conversation
// object, another conversation's object (its id), an object without
// participants, bulk messages or a single message of another
// conversation (conversationId) — fails that conversation (a malformed
// body) with nothing of it appended, where the old code appended what
// verify --evidence then rejected, or lost its messages unnoticed. The
// rest of the run is captured and verifies; a rerun against a good
// server captures the conversation, and the whole ledger verifies with
// its evidence.
func TestExportRefusesAnswersAboutAnotherConversation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(t *testing.T, target, other string, method, path string, body []byte) []byte
	}{
		{"empty conversation object", func(t *testing.T, target, other, method, path string, body []byte) []byte {
			if method == http.MethodGet && path == "/api/v2/conversations/messages/"+target {
				return []byte(`{}`)
			}
			return body
		}},
		{"another conversation's object", func(t *testing.T, target, other, method, path string, body []byte) []byte {
			if method == http.MethodGet && path == "/api/v2/conversations/messages/"+target {
				return editJSON(t, body, func(v map[string]any) { v["id"] = other })
			}
			return body
		}},
		{"conversation object without participants", func(t *testing.T, target, other, method, path string, body []byte) []byte {
			if method == http.MethodGet && path == "/api/v2/conversations/messages/"+target {
				return editJSON(t, body, func(v map[string]any) { delete(v, "participants") })
			}
			return body
		}},
		{"bulk messages of another conversation", func(t *testing.T, target, other, method, path string, body []byte) []byte {
			if method == http.MethodPost && path == "/api/v2/conversations/messages/"+target+"/messages/bulk" {
				return editJSON(t, body, func(v map[string]any) {
					for _, m := range v["entities"].([]any) {
						m.(map[string]any)["conversationId"] = other
					}
				})
			}
			return body
		}},
		{"single message of another conversation", func(t *testing.T, target, other, method, path string, body []byte) []byte {
			switch {
			case method == http.MethodPost && path == "/api/v2/conversations/messages/"+target+"/messages/bulk":
				return []byte(`{"entities":[]}`) // each message is then asked for alone
			case method == http.MethodGet && strings.HasPrefix(path, "/api/v2/conversations/messages/"+target+"/messages/"):
				return editJSON(t, body, func(v map[string]any) { v["conversationId"] = other })
			}
			return body
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 12, "")
			ctx := context.Background()
			convs := whatsApp(e.srv.Org)
			var target, other string
			for _, c := range convs {
				switch {
				case target == "" && len(c.Messages) > 0:
					target = c.ID
				case other == "":
					other = c.ID
				}
			}
			if target == "" || other == "" {
				t.Fatal("the org has no two WhatsApp conversations, one with messages")
			}
			api := rewriteProxy(t, e.srv, func(method, path string, body []byte) []byte {
				return tc.rewrite(t, target, other, method, path, body)
			})
			acct, err := export.Run(ctx, export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = api }), Ledger: e.ledger, Evidence: e.store},
				export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 4})
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if acct.Complete() || acct.Failed != 1 || acct.Exported != len(convs)-1 || len(acct.Failures) != 1 ||
				acct.Failures[0].ConversationID != target || !strings.Contains(acct.Failures[0].Reason, "malformed response body") {
				t.Fatalf("accounting %+v: want %s alone failed, as a malformed body", acct, target)
			}
			entries, err := e.ledger.EntriesByConversation(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Fatalf("%d entries appended for %s, want none", len(entries), target)
			}
			verifyEvidence(t, e, "the faulty run")

			acct = e.run(t, intervalScope())
			if !acct.Complete() || len(acct.Failures) != 0 {
				t.Fatalf("rerun %+v: want every conversation exported", acct)
			}
			checkCaptured(t, e)
			verifyEvidence(t, e, "the rerun")
		})
	}
}

// TestExportConversationWithoutMessages: a conversation whose
// participants list no message is captured as it is (a conversation
// entry, no message), not taken for a malformed answer, and verifies.
func TestExportConversationWithoutMessages(t *testing.T) {
	e := newEnv(t, 12, "")
	api := rewriteProxy(t, e.srv, func(method, path string, body []byte) []byte {
		// The conversation object alone: GET /api/v2/conversations/messages/{id}.
		if method != http.MethodGet || !strings.HasPrefix(path, "/api/v2/conversations/messages/") || strings.Count(path, "/") != 5 {
			return body
		}
		return editJSON(t, body, func(v map[string]any) {
			for _, p := range v["participants"].([]any) {
				delete(p.(map[string]any), "messages")
			}
		})
	})
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = api }), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if !acct.Complete() || acct.MessagesAppended != 0 || acct.Exported != len(whatsApp(e.srv.Org)) {
		t.Fatalf("accounting %+v: want every conversation exported, no message", acct)
	}
	verifyEvidence(t, e, "the export")
}

// verifyEvidence asserts that verify --evidence passes over e's ledger.
func verifyEvidence(t *testing.T, e *env, what string) {
	t.Helper()
	rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify --evidence after %s: %v", what, rep.Findings)
	}
}

// TestExportMessageIDInTwoConversations: a message id that two
// conversations both list (a proxy adds message X of conversation A to
// B's object and bulk answer, conversationId B) is a capture in each:
// what a message's capture supersedes is its latest capture in the same
// conversation (a capture's subject is its conversation and message,
// docs/ledger-format.md). The old code looked X up by message id alone
// and made B's entry supersede A's: the ledger refused the append and
// every run stopped there. The run completes, verifies with its
// evidence, and a rerun appends nothing.
func TestExportMessageIDInTwoConversations(t *testing.T) {
	e := newEnv(t, 12, "")
	ctx := context.Background()
	var a, b *sim.ConvData
	for _, c := range whatsApp(e.srv.Org) {
		switch {
		case a == nil && len(c.Messages) > 0:
			a = c
		case b == nil && len(c.Messages) > 0:
			b = c
		}
	}
	if a == nil || b == nil {
		t.Fatal("the org has no two WhatsApp conversations with messages")
	}
	x := e.srv.ServedMessage(a.Messages[0])
	x.ConversationID = b.ID
	api := rewriteProxy(t, e.srv, func(method, path string, body []byte) []byte {
		switch {
		case method == http.MethodGet && path == "/api/v2/conversations/messages/"+b.ID:
			return editJSON(t, body, func(v map[string]any) {
				p := v["participants"].([]any)[0].(map[string]any)
				msgs, _ := p["messages"].([]any)
				p["messages"] = append(msgs, map[string]any{"messageId": x.ID})
			})
		case method == http.MethodPost && path == "/api/v2/conversations/messages/"+b.ID+"/messages/bulk":
			return editJSON(t, body, func(v map[string]any) {
				v["entities"] = append(v["entities"].([]any), x)
			})
		}
		return body
	})
	client := e.client(t, func(c *fetch.Config) { c.APIURL = api })
	acct := e.runWith(t, intervalScope(), client)
	if !acct.Complete() || len(acct.Failures) != 0 || len(acct.ChangedAtSource) != 0 {
		t.Fatalf("accounting %+v: want every conversation exported, no change", acct)
	}
	caps, err := e.ledger.EntriesByMessage(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]int{}
	for _, c := range caps {
		if c.Supersedes != nil {
			t.Errorf("message %s: entry %d of %s supersedes %d", x.ID, c.Seq, c.ConversationID, *c.Supersedes)
		}
		in[c.ConversationID]++
	}
	if len(caps) != 2 || in[a.ID] != 1 || in[b.ID] != 1 {
		t.Fatalf("message %s: captures by conversation %v, want one in %s and one in %s", x.ID, in, a.ID, b.ID)
	}
	verifyEvidence(t, e, "the export")

	acct = e.runWith(t, intervalScope(), client)
	if !acct.Complete() || acct.Invocation.MessagesAppended != 0 {
		t.Fatalf("rerun %+v: want nothing appended", acct)
	}
	verifyEvidence(t, e, "the rerun")
}
