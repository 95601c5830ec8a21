package ledger

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestConversationMessages gives what Entries gives for the
// conversation's message entries below a seq (but the hashes it leaves
// out), through the conversation index.
func TestConversationMessages(t *testing.T) {
	f := newFixture(t)
	for _, conv := range []string{"c-b", "c-a", "c-b", "c-c"} {
		if _, err := f.l.Append(f.ctx, messages(conv, 3)...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	for _, conv := range []string{"c-a", "c-b", "c-c", "c-none"} {
		for _, before := range []uint64{0, 4, 7, 1 << 20, 1<<64 - 1} {
			var want []leaf.Entry
			for e, err := range f.l.Entries(f.ctx, Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
				if err != nil {
					t.Fatal(err)
				}
				if e.Seq < before {
					e.LeafHash, e.Chain = [32]byte{}, [32]byte{}
					want = append(want, e)
				}
			}
			var got []leaf.Entry
			if err := f.l.ConversationMessages(f.ctx, conv, before, func(e leaf.Entry) error { got = append(got, e); return nil }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s before %d: %d entries, want %d", conv, before, len(got), len(want))
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := f.l.ConversationMessages(f.ctx, "c-b", 1<<20, func(leaf.Entry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error from fn: %v after %d entries", err, n)
	}
	if text := f.queryPlan(conversationMessagesSQL, "c-b", 100); !strings.Contains(text, "entries_by_conversation") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("plan %q does not read the conversation index, in order", text)
	}
}
