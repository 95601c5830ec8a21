package produce_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/custodyhq/custody/internal/produce"
)

// TestProduceSplitsLongConversations: a conversation longer than
// SplitEvents gets one file per UTC day, named by the day, sharing the
// conversation id as eventcollectionid; every message is still produced
// exactly once.
func TestProduceSplitsLongConversations(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, filepath.Join(dir, "m"), 3, 30)
	defer l.Close()
	defer st.Close()
	out := filepath.Join(dir, "p")
	// The fixture puts a conversation's messages a second apart, all on
	// one day: split at 10 gives one file a day, here one per conversation
	// with the date in its name.
	res, err := produce.Run(t.Context(), produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SplitEvents: 10, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 90 || res.RSMFFiles != 3 {
		t.Fatalf("%+v", res)
	}
	names, _ := filepath.Glob(filepath.Join(out, "rsmf", "*.rsmf"))
	dated := regexp.MustCompile(`_\d{4}-\d{2}-\d{2}\.rsmf$`)
	for _, n := range names {
		if !dated.MatchString(n) {
			t.Errorf("%s: not named by its day", n)
		}
		data, _ := os.ReadFile(n)
		f, err := produce.ReadRSMF(data)
		if err != nil {
			t.Fatal(err)
		}
		var m produce.RSMF
		json.Unmarshal(f.Manifest, &m)
		if m.EventCollectionID == "" || m.EventCollectionID != m.Conversations[0].ID {
			t.Errorf("%s: eventcollectionid %q", n, m.EventCollectionID)
		}
	}
	events, _, _, _ := readBack(t, out)
	if len(events) != 90 {
		t.Errorf("%d events, want 90", len(events))
	}
}
