package ledger

import (
	"slices"
	"strings"
	"testing"
)

// TestConversationIDs lists each conversation once, in byte order, from
// the conversation index alone (no pass over the entries' rows).
func TestConversationIDs(t *testing.T) {
	f := newFixture(t)
	for _, conv := range []string{"c-b", "c-a", "c-b", "c-c"} {
		if _, err := f.l.Append(f.ctx, messages(conv, 2)...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.l.Append(f.ctx, Entry{Kind: KindRun, RunID: "r1"}); err != nil { // no conversation
		t.Fatal(err)
	}
	var got []string
	if err := f.l.ConversationIDs(f.ctx, func(id string) error { got = append(got, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"c-a", "c-b", "c-c"}; !slices.Equal(got, want) {
		t.Errorf("ConversationIDs = %q, want %q", got, want)
	}
	var plan []string
	rows, err := f.l.rdb.QueryContext(f.ctx, `EXPLAIN QUERY PLAN SELECT DISTINCT conversation_id FROM entries WHERE conversation_id IS NOT NULL ORDER BY conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if text := strings.Join(plan, "; "); !strings.Contains(text, "COVERING INDEX") || strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("plan %q does not read the conversation index alone, in order", text)
	}
}
