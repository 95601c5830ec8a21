package erasure

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestExcuses: an absent object is erased only when a vouched erasure
// entry lists it, an entry before it of what it erases references it and
// none after it does; References finds those entries in the leaves.
func TestExcuses(t *testing.T) {
	sum := func(s string) hashchain.Hash { return hashchain.LeafHash([]byte(s)) }
	gone, later, other, unlisted := sum("gone"), sum("later"), sum("other"), sum("unlisted")
	msg := func(seq uint64, id string, h hashchain.Hash) leaf.Entry {
		return leaf.Entry{Seq: seq, Kind: leaf.KindMessage, ConversationID: "c1", MessageID: id, EvidenceSHA256: h}
	}
	raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Messages: []string{"m1", "m2"}, Conversations: []string{}, Partial: []string{"c1"},
		Erased: []string{gone.String(), later.String(), other.String()}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-1"})
	if err != nil {
		t.Fatal(err)
	}
	er := leaf.Entry{Seq: 3, Kind: leaf.KindErasure, Detail: raw}
	// m1 holds gone; m2 holds later, named again by entry 4 after the
	// erasure; other is named by m9, which the erasure does not erase.
	entries := []leaf.Entry{msg(0, "m1", gone), msg(1, "m2", later), msg(2, "m9", other), er, msg(4, "m2b", later)}

	var x Excuses
	for i := range entries {
		x.Add(&entries[i])
	}
	refs := func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error) {
		r := NewReferences(want)
		for _, e := range entries {
			b, err := e.AppendLeaf(nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Add(e.Seq, b)
		}
		return r.Refs(), nil
	}
	absent := []hashchain.Hash{gone, later, other, unlisted}

	missing, erased, err := x.Split(absent, map[uint64]bool{3: true}, refs)
	if err != nil {
		t.Fatal(err)
	}
	why := map[hashchain.Hash]string{}
	for _, m := range missing {
		why[m.Sum] = m.Why
	}
	if erased != 1 || len(missing) != 3 {
		t.Fatalf("vouched: %d erased, missing %+v; want gone erased alone", erased, missing)
	}
	if _, ok := why[gone]; ok {
		t.Error("gone: missing, want erased")
	}
	if !strings.Contains(why[later], "entry 4, after it, references it") || !strings.Contains(why[other], "no entry before it of a conversation or message it erases") || why[unlisted] != "" {
		t.Errorf("why: %q", why)
	}

	missing, erased, err = x.Split(absent, map[uint64]bool{}, func(map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error) {
		t.Fatal("references read with no vouched erasure listing an object")
		return nil, nil
	})
	if err != nil || erased != 0 || len(missing) != 4 || !strings.Contains(missing[0].Why, "no signed checkpoint vouches") {
		t.Errorf("unvouched: %d erased, %+v, %v", erased, missing, err)
	}
	if seqs, convs, msgs := x.Vouched(map[uint64]bool{3: true}); len(seqs) != 1 || len(convs) != 0 || strings.Join(msgs, ",") != "m1,m2" {
		t.Errorf("vouched: %v %v %v", seqs, convs, msgs)
	}
}
