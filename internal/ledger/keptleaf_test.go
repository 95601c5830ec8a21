package ledger

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestLeavesOutliveTheirRows holds the driver to what keptLeaf relies on:
// a leaf read into sql.RawBytes stays as it was after later rows are
// read. Each reader's entries are kept, with a copy of each Detail (or
// leaf) taken when it was handed over; after the query, every kept one
// must still equal its copy. A driver that reused its buffers would leave
// earlier entries holding later rows' bytes. "text" stores every leaf as
// TEXT, as a file whose STRICT was taken off can: database/sql hands such
// a value over in a buffer of the Rows that the next row reuses, which
// keptLeafColumn's cast avoids (without it, every reader here fails).
func TestLeavesOutliveTheirRows(t *testing.T) {
	for _, stored := range []string{"blob", "text"} {
		t.Run(stored, func(t *testing.T) { leavesOutliveTheirRows(t, stored == "text") })
	}
}

func leavesOutliveTheirRows(t *testing.T, text bool) {
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
	if text {
		f.unstrict()
		f.tamper(`UPDATE entries SET leaf = CAST(leaf AS TEXT)`)
	}
	type kept struct {
		seq  uint64
		b    []byte
		copy []byte
	}
	check := func(name string, ks []kept) {
		t.Helper()
		if len(ks) == 0 {
			t.Fatalf("%s: no entries", name)
		}
		for _, k := range ks {
			if len(k.copy) == 0 {
				t.Fatalf("%s: seq %d has no detail to check", name, k.seq)
			}
			if !bytes.Equal(k.b, k.copy) {
				t.Fatalf("%s: seq %d: its bytes changed after its row was read:\n%s\nwas\n%s", name, k.seq, k.b, k.copy)
			}
		}
	}
	keep := func(ks *[]kept) func(e leaf.Entry) {
		return func(e leaf.Entry) { *ks = append(*ks, kept{e.Seq, e.Detail, bytes.Clone(e.Detail)}) }
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

	var d []kept
	add = keep(&d)
	if err := f.l.EntriesAt(f.ctx, []uint64{3, 4, 5, 100, 200}, func(e leaf.Entry) error { add(e); return nil }); err != nil {
		t.Fatal(err)
	}
	check("EntriesAt", d)

	snap, err := f.l.Snapshot(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var r []kept
	for row, err := range snap.Entries(f.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		r = append(r, kept{row.Seq, row.Leaf, bytes.Clone(row.Leaf)})
	}
	check("Snapshot.Entries", r)
}
