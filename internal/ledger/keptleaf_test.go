package ledger

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestLeavesOutliveTheirRows holds the driver to what keptLeaf relies on:
// a leaf read into sql.RawBytes stays as it was after later rows are
// read. Each reader's entries are kept, with a copy of each Detail taken
// when it was handed over; after the query, every kept Detail must still
// equal its copy. A driver that reused its buffers would leave earlier
// entries holding later rows' bytes.
func TestLeavesOutliveTheirRows(t *testing.T) {
	f := newFixture(t)
	var all []leaf.Entry
	for i := range 300 {
		e := message(fmt.Sprintf("conv-%d", i%3), i)
		e.Detail = mustJSON(map[string]any{"direction": "inbound", "n": i}) // each leaf its own bytes
		all = append(all, e)
	}
	if _, err := f.l.Append(f.ctx, all...); err != nil {
		t.Fatal(err)
	}
	type kept struct {
		e    leaf.Entry
		copy []byte
	}
	check := func(name string, ks []kept) {
		t.Helper()
		if len(ks) == 0 {
			t.Fatalf("%s: no entries", name)
		}
		for _, k := range ks {
			if len(k.copy) == 0 {
				t.Fatalf("%s: seq %d has no detail to check", name, k.e.Seq)
			}
			if !bytes.Equal(k.e.Detail, k.copy) {
				t.Fatalf("%s: seq %d: its detail changed after its row was read:\n%s\nwas\n%s", name, k.e.Seq, k.e.Detail, k.copy)
			}
		}
	}
	keep := func(ks *[]kept) func(e leaf.Entry) {
		return func(e leaf.Entry) { *ks = append(*ks, kept{e, bytes.Clone(e.Detail)}) }
	}

	var a []kept
	add := keep(&a)
	if err := f.l.ConversationsMessages(f.ctx, []string{"conv-0", "conv-1", "conv-2"}, 1<<20, func(_ string, e leaf.Entry) error { add(e); return nil }); err != nil {
		t.Fatal(err)
	}
	check("ConversationsMessages", a)

	var b []kept
	add = keep(&b)
	if err := f.l.ConversationMessages(f.ctx, "conv-1", 1<<20, func(e leaf.Entry) error { add(e); return nil }); err != nil {
		t.Fatal(err)
	}
	check("ConversationMessages", b)

	var c []kept
	add = keep(&c)
	for e, err := range f.l.Entries(f.ctx, Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		add(e)
	}
	check("Entries", c)
}
