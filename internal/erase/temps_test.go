package erase_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestEraseRemovesTemporaries: a write a crash cut short leaves a
// temporary file in the store (evidence.TempPrefix) that may be a whole
// response body under another name; erase, which holds the writer lock,
// removes every such file, so what it erases is in no file of the
// store, and leaves every other stray alone. Before, the text stayed in
// the temporary and verify --evidence said OK.
func TestEraseRemovesTemporaries(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	var target, text string
	var body []byte
	for _, c := range free {
		texts := secrets(t, m.srv.Org, c, false)
		cv, _ := m.srv.Org.Conversation(c)
		for k := range cv.Messages {
			md := &cv.Messages[k]
			if tx := genesys.MessageText(md); slices.Contains(texts, tx) && len(grepTree(t, m.le.Dir, []string{tx})) > 0 {
				target, text = md.ID, tx
				break
			}
		}
		if target == "" {
			continue
		}
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: c}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.MessageID == target {
				b, err := evidence.GetChecked(ctx, m.le.Store, e.EvidenceSHA256)
				if err != nil {
					t.Fatal(err)
				}
				body = b
			}
		}
		break
	}
	if target == "" || body == nil {
		t.Fatal("no message with a text of its own and its body")
	}
	shard := filepath.Join(m.le.Dir, "evidence", "sha256", "ab")
	if err := os.MkdirAll(shard, 0o755); err != nil {
		t.Fatal(err)
	}
	temp := filepath.Join(shard, evidence.TempPrefix+"123456")
	other := filepath.Join(shard, "notes.txt") // a stray that is not custody's: left alone
	for _, p := range []string{temp, other} {
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{target}, Reason: "DSR-9", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if res.TempsRemoved != 1 {
		t.Errorf("%d temporaries removed, want 1", res.TempsRemoved)
	}
	if _, err := os.Stat(temp); !os.IsNotExist(err) {
		t.Errorf("the temporary file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a stray that is not a temporary was touched: %v", err)
	}
	if hits := grepTree(t, filepath.Join(m.le.Dir, "evidence"), []string{text}); len(hits) != 1 || !strings.HasPrefix(hits[0], other+":") {
		t.Errorf("the erased text is in %v; want only the foreign stray planted beside it", hits)
	}
	if rep := m.verify(t); !rep.OK {
		t.Errorf("verify after: %v", rep.Findings)
	}
}
