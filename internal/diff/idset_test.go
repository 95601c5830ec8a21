package diff

import (
	"math/rand/v2"
	"testing"
)

// TestIDSet: idSet holds what a map holds, the zero key included, across
// its shards' growth.
func TestIDSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	ref := map[[2]uint64]bool{}
	keys := [][2]uint64{{}, {0, 1}, {1, 0}, {^uint64(0), ^uint64(0)}}
	for range 200_000 {
		keys = append(keys, [2]uint64{r.Uint64(), r.Uint64()})
	}
	for i := range 300_000 {
		k := keys[r.IntN(len(keys))]
		if i%7 == 0 {
			k[1] = uint64(i) // keys alike in their upper half: one shard
		}
		if got, want := s.add(k), !ref[k]; got != want {
			t.Fatalf("add %x = %v, want %v", k, got, want)
		}
		ref[k] = true
	}
	for k := range ref {
		if s.add(k) {
			t.Fatalf("%x lost", k)
		}
	}
}

// TestIDSetBytes: a key takes at most 26 bytes (docs/diff.md, "Memory").
func TestIDSetBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s idSet
	const n = 1_000_000
	for range n {
		s.add([2]uint64{r.Uint64(), r.Uint64()})
	}
	slots := 0
	for i := range s.shards {
		slots += len(s.shards[i].slots)
	}
	if b := float64(slots*16) / n; b > 26 {
		t.Errorf("%.1f bytes a key", b)
	}
}
