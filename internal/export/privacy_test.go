package export_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
)

// personalKeys are the JSON members of the simulator's objects whose
// values are personal data: names, addresses (WhatsApp phone numbers),
// texts, and the provider's message id.
func personalKey(k string) bool {
	k = strings.ToLower(k)
	for _, p := range []string{"name", "address", "text", "nickname", "phone", "providermessageid", "email"} {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// candidates collects every personal value of the simulator's data for
// the captured conversations.
func candidates(t *testing.T, org *sim.Org) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(y, k)
			}
		case []any:
			for _, y := range x {
				walk(y, key)
			}
		case string:
			if personalKey(key) && strings.TrimSpace(x) != "" {
				out[x] = true
			}
		}
	}
	for i := range org.Len() {
		c := org.ConversationAt(i)
		for _, obj := range []any{c.Conversation, c.MessageConversation, c.Messages} {
			b, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			walk(v, "")
		}
		for k := range c.Messages {
			if s := genesys.MessageText(&c.Messages[k]); s != "" {
				out[s] = true
			}
		}
	}
	return out
}

// TestNoPersonalDataInLeaves is the acceptance test of ledger format v3:
// after an export of the simulator's org, no leaf of the ledger holds a
// phone number, a name or a text of its data, nor an unsalted hash of
// one — every candidate's SHA-256 and content hash is recomputed and
// searched for, in hex, in every leaf.
func TestNoPersonalDataInLeaves(t *testing.T) {
	e := newEnv(t, 24, "")
	e.run(t, intervalScope())
	ctx := context.Background()
	cands := candidates(t, e.srv.Org)
	if len(cands) < 50 {
		t.Fatalf("only %d candidates: the simulator's data was not read", len(cands))
	}
	type form struct{ what, b string }
	var forms []form
	for c := range cands {
		sum := sha256.Sum256([]byte(c))
		forms = append(forms,
			form{"sha256", hex.EncodeToString(sum[:])},
			form{"content hash", genesys.ContentHash(c)})
		quoted, _ := json.Marshal(c)
		forms = append(forms, form{"value", string(quoted)}) // as a JSON string
		if len(c) >= 8 {
			forms = append(forms, form{"text", c}) // inside any string
		}
	}
	// The search finds what it looks for: the evidence (which keeps the
	// personal data, erasable) holds candidates in these forms.
	var found int
	var firstEvidence []byte
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if firstEvidence, err = e.store.Get(ctx, en.EvidenceSHA256); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range forms {
		if bytes.Contains(firstEvidence, []byte(f.b)) {
			found++
		}
	}
	if found == 0 {
		t.Fatal("no candidate found even in the evidence: the search would miss a leak")
	}
	leaves, messages, v3 := 0, 0, 0
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		leaves++
		if en.Kind == leaf.KindMessage {
			messages++
			if en.V == leaf.FormatV3 {
				v3++
			}
		}
		for _, f := range forms {
			if bytes.Contains(en.Leaf, []byte(f.b)) {
				t.Errorf("seq %d (%s) holds a %s of personal data: %.60s", en.Seq, en.Kind, f.what, f.b)
			}
		}
	}
	if messages == 0 || v3 != messages {
		t.Fatalf("%d message leaves, %d of them v3", messages, v3)
	}
	t.Logf("%d leaves (%d messages, all v3) hold none of %d candidates in %d forms", leaves, messages, len(cands), len(forms))
}
