package ledger

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestConversationsMessages: for every conversation named, one query for
// several gives what ConversationMessages gives for each, grouped by
// conversation in id order, each conversation once.
func TestConversationsMessages(t *testing.T) {
	f := newFixture(t)
	for _, conv := range []string{"c-b", "c-a", "c-b", "c-c", "c-a"} {
		if _, err := f.l.Append(f.ctx, messages(conv, 3)...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	type row struct {
		conv string
		e    leaf.Entry
	}
	for _, convs := range [][]string{{"c-a"}, {"c-b", "c-a"}, {"c-c", "c-none", "c-a", "c-b"}, {"c-a", "c-a", "c-b"}, {"c-none"}} {
		for _, before := range []uint64{0, 4, 7, 11, 1 << 20, 1<<64 - 1} {
			var want []row
			sorted := slices.Clone(convs)
			slices.Sort(sorted)
			for _, conv := range slices.Compact(sorted) {
				if err := f.l.ConversationMessages(f.ctx, conv, before, func(e leaf.Entry) error { want = append(want, row{conv, e}); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			var got []row
			if err := f.l.ConversationsMessages(f.ctx, convs, before, func(conv string, e leaf.Entry) error { got = append(got, row{conv, e}); return nil }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%v before %d: got %d entries, want %d", convs, before, len(got), len(want))
			}
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := f.l.ConversationsMessages(f.ctx, []string{"c-a", "c-b"}, 1<<20, func(string, leaf.Entry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("an error from fn: %v after %d entries", err, n)
	}
	if err := f.l.ConversationsMessages(f.ctx, nil, 1<<20, func(string, leaf.Entry) error { t.Error("called for no conversation"); return nil }); err != nil {
		t.Error(err)
	}
	if err := f.l.ConversationsMessages(f.ctx, make([]string, MaxConversationsBatch+1), 1<<20, func(string, leaf.Entry) error { return nil }); err == nil {
		t.Error("more than MaxConversationsBatch conversations: no error")
	}
	if text := f.queryPlan(conversationsMessagesSQL(3), "c-b", "c-a", "c-c", 100); !strings.Contains(text, "entries_by_conversation") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("plan %q does not read the conversation index, in order", text)
	}
}
