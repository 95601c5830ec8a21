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

	x, refs := excusesOf(t, entries)
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

// TestExcusesDiffFindings: a recorded diff's findings object an erasure
// deleted is erased, not missing, when the erasure's diffs name it with
// that diff entry, as a production's manifest is with its outputs; a
// findings object it lists as erased without naming its diff, or naming
// another diff, stays missing.
func TestExcusesDiffFindings(t *testing.T) {
	sum := func(s string) hashchain.Hash { return hashchain.LeafHash([]byte(s)) }
	f1, f2, f3 := sum("findings 1"), sum("findings 2"), sum("findings 3")
	diffEntry := func(seq uint64, run string, parts ...hashchain.Hash) leaf.Entry {
		var list leaf.EvidenceList
		for _, p := range parts {
			list = append(list, p.String())
		}
		raw, err := leaf.EncodeDetail(&leaf.DiffDetail{FindingsEvidenceSHA256: list, FilesEvidenceSHA256: leaf.EvidenceList{}, Counts: map[string]int{}})
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Entry{Seq: seq, Kind: leaf.KindDiff, RunID: run, Detail: raw}
	}
	raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{"c1"}, Messages: []string{}, Partial: []string{},
		Erased: []string{f1.String(), f2.String(), f3.String()}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-1",
		Diffs: []leaf.ErasedDiff{{Seq: 0, RunID: "diff-a", Findings: []string{f1.String()}}, {Seq: 0, RunID: "diff-a", Findings: []string{f3.String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	// f1 and f2 are diff-a's; f3 is diff-b's, which the erasure's diffs
	// do not name with it.
	entries := []leaf.Entry{diffEntry(0, "diff-a", f1, f2), diffEntry(1, "diff-b", f3), {Seq: 2, Kind: leaf.KindErasure, Detail: raw}}
	x, refs := excusesOf(t, entries)
	missing, erased, err := x.Split([]hashchain.Hash{f1, f2, f3}, map[uint64]bool{2: true}, refs)
	if err != nil {
		t.Fatal(err)
	}
	if erased != 1 || len(missing) != 2 {
		t.Fatalf("%d erased, missing %+v; want f1 erased alone", erased, missing)
	}
	for _, m := range missing {
		if m.Sum == f1 {
			t.Errorf("f1, named with its diff: missing (%s)", m.Why)
		}
		if !strings.Contains(m.Why, "nor a diff whose findings its diffs name") {
			t.Errorf("why %s is missing: %q", m.Sum, m.Why)
		}
	}
}

// excusesOf is the Excuses of entries, and the references function
// Split asks for, reading the entries' leaves as a ledger would.
func excusesOf(t *testing.T, entries []leaf.Entry) (Excuses, func(map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error)) {
	t.Helper()
	var x Excuses
	for i := range entries {
		x.Add(&entries[i])
	}
	return x, func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error) {
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
}
