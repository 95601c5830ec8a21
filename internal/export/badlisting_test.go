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

// TestExportUnusableListedID: a listing page that names conversation ids
// no conversation id looks like (a path, terminal escapes, two long ids
// alike in their first 80 bytes) does not stop the run: each is recorded
// failed under an item id no request can use, its id quoted in the
// reason, and never requested — not even in the legal-hold check's
// batch, whose other conversations an id the client refuses would fail
// with it (a reviewer saw every conversation of the batch fail, on every
// pass and rerun, with 32c7bc5); every other conversation is captured,
// the run ends incomplete, and the ledger verifies with its evidence (the
// listing entry counts every conversation of its page). A rerun does not
// request them either. Before 32c7bc5, the first such id stopped the
// whole run with nothing captured.
func TestExportUnusableListedID(t *testing.T) {
	long := strings.Repeat("a", 100) // over 128 bytes with its tail; two cut alike
	bad := []string{"../../api/v2/users", "\x1b[31mRED\x1b[0m", long + strings.Repeat("b", 40), long + strings.Repeat("c", 40)}
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
					for _, id := range bad {
						cs = append(cs, map[string]any{"conversationId": id})
					}
					v["conversations"] = cs
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
		if acct.Complete() || acct.Failed != len(bad) || len(acct.Failures) != len(bad) || acct.Exported != len(convs) {
			t.Fatalf("run %d: accounting %+v: want the %d unusable ids alone failed, every other conversation exported (%d)", run, acct, len(bad), len(convs))
		}
		for _, f := range acct.Failures {
			if !strings.HasPrefix(f.ConversationID, "!unusable:") || export.ValidID(f.ConversationID) ||
				!strings.Contains(f.Reason, "unusable conversation id") || strings.ContainsAny(f.Reason, "\x1b\x00") {
				t.Errorf("run %d: failure %+v: want an item id no request can use and the id quoted", run, f)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range asked {
		if strings.Contains(p, "users") || strings.Contains(p, "..") || strings.Contains(p, "RED") || strings.Contains(p, long) {
			t.Errorf("requested %q: an unusable listed id reached a request", p)
		}
	}
	verifyEvidence(t, e, "a listing with unusable ids")
}
