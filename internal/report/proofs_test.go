package report

import (
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestProverMatchesHashchain holds the report's batch prover to the
// reference (hashchain.InclusionProof) on every leaf of trees of every
// size up to 70, perfect and not.
func TestProverMatchesHashchain(t *testing.T) {
	for size := 1; size <= 70; size++ {
		hs := make([]hashchain.Hash, size)
		for i := range hs {
			hs[i] = sha256.Sum256([]byte{byte(i), byte(size)})
		}
		p := newProver(hs)
		root := hashchain.Root(hs)
		if got := p.mth(0, uint64(size)); got != root {
			t.Fatalf("size %d: root %s, want %s", size, got, root)
		}
		for m := range size {
			got, err := p.proof(uint64(m))
			if err != nil {
				t.Fatal(err)
			}
			want, err := hashchain.InclusionProof(hs, uint64(m))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("size %d leaf %d: proof differs", size, m)
			}
			if err := hashchain.VerifyInclusion(uint64(m), uint64(size), hs[m], got, root); err != nil {
				t.Fatalf("size %d leaf %d: %v", size, m, err)
			}
		}
	}
	if _, err := newProver(nil).proof(0); err == nil {
		t.Error("a proof in an empty tree: no error")
	}
	// The root of the empty tree (a checkpoint signed before any entry;
	// report --checkpoint on such a matter panicked: index out of range).
	if got := newProver(nil).mth(0, 0); got != hashchain.EmptyRoot {
		t.Errorf("empty tree root %s, want %s", got, hashchain.EmptyRoot)
	}
}
