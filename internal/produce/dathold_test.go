package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
)

// recaptureConversation appends a new capture of conversation id, the
// latest one's but with deletion protection set to held: Genesys's
// protection placed or lifted after the messages were captured (they,
// unchanged, are not captured again).
func recaptureConversation(t *testing.T, l *ledger.Ledger, id string, held bool) {
	t.Helper()
	ctx := context.Background()
	var last *leaf.Entry
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == leaf.KindConversation && e.ConversationID == id {
			x := e
			last = &x
		}
	}
	if last == nil {
		t.Fatalf("no conversation entry for %s", id)
	}
	d, err := leaf.DecodeDetail(last.Kind, last.Detail)
	if err != nil {
		t.Fatal(err)
	}
	cd := d.(*leaf.ConversationDetail)
	cd.LegalHold = held
	ne := *last
	ne.Seq, ne.V = 0, 0
	if ne.Detail, err = leaf.EncodeDetail(cd); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, ne); err != nil {
		t.Fatal(err)
	}
}

// TestDATHoldIsTheConversations: deletion protection placed on a
// conversation after its messages were captured (and lifted from
// another) is what the DAT's LEGAL_HOLD and HOLD_SOURCE say, as the
// manifest does: not the flag each message's capture saw.
func TestDATHoldIsTheConversations(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 4) // conversation 0 under protection, 1 not
	c0, c1 := "c0000000-0000-4000-8000-000000000000", "c0000001-0000-4000-8000-000000000000"
	recaptureConversation(t, l, c0, false)
	recaptureConversation(t, l, c1, true)
	out := filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatDAT, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	man, err := production.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, c := range man.Conversations {
		want[c.ID] = "false"
		if c.LegalHold {
			want[c.ID] = "true"
		}
	}
	if want[c0] != "false" || want[c1] != "true" {
		t.Fatalf("manifest holds %v: want %s false, %s true", want, c0, c1)
	}
	dat, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(dat)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range cols {
		col[c] = i
	}
	for _, r := range rows {
		conv := r[col["CONVERSATION_ID"]]
		src := ""
		if want[conv] == "true" {
			src = "deletion_protection"
		}
		if r[col["LEGAL_HOLD"]] != want[conv] || r[col["HOLD_SOURCE"]] != src {
			t.Errorf("%s %s: LEGAL_HOLD %q HOLD_SOURCE %q, the manifest says %s (%q)", r[col["BEGDOC"]], conv,
				r[col["LEGAL_HOLD"]], r[col["HOLD_SOURCE"]], want[conv], src)
		}
	}
}
