package export_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
)

// TestExportUnusableListedID: a listing page that names a conversation
// id no conversation id looks like (a path here) does not stop the run:
// that id is recorded failed, saying why, and never requested; every
// other conversation is captured, the run ends incomplete, and the
// ledger verifies with its evidence (the listing entry counts every
// conversation of its page). A rerun does not request it either. Before,
// the first such id stopped the whole run with nothing captured.
func TestExportUnusableListedID(t *testing.T) {
	const bad = "../../api/v2/users"
	e := newEnv(t, 12, "")
	var mu sync.Mutex
	var asked []string
	api := rewriteProxy(t, e.srv, func(method, path string, body []byte) []byte {
		mu.Lock()
		asked = append(asked, path)
		mu.Unlock()
		if method == http.MethodGet && strings.HasSuffix(path, "/results") {
			return editJSON(t, body, func(v map[string]any) {
				if cs, ok := v["conversations"].([]any); ok && len(cs) > 0 {
					v["conversations"] = append(cs, map[string]any{"conversationId": bad})
				}
			})
		}
		return body
	})
	convs := whatsApp(e.srv.Org)
	for run := range 2 {
		acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t, func(c *fetch.Config) { c.APIURL = api }), Ledger: e.ledger, Evidence: e.store},
			export.Options{Scope: intervalScope(), SignerKey: e.key, Concurrency: 4})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if acct.Complete() || acct.Failed != 1 || len(acct.Failures) != 1 || acct.Failures[0].ConversationID != bad ||
			!strings.Contains(acct.Failures[0].Reason, "unusable conversation id") {
			t.Fatalf("run %d: accounting %+v: want the listed %q alone failed, as unusable", run, acct, bad)
		}
		if run == 0 && acct.Exported != len(convs) {
			t.Fatalf("run 0: %d exported, want every other conversation (%d)", acct.Exported, len(convs))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range asked {
		if strings.Contains(p, "users") || strings.Contains(p, "..") {
			t.Errorf("requested %q: an unusable listed id reached a request", p)
		}
	}
	verifyEvidence(t, e, "a listing with an unusable id")
}
