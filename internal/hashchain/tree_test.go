package hashchain

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"
)

// TestTreeAgreesWithInclusionProof holds Tree to the reference
// InclusionProof and Root for every index of every size up to 70.
func TestTreeAgreesWithInclusionProof(t *testing.T) {
	var leaves []Hash
	for n := 0; n <= 70; n++ {
		tr := NewTree(leaves)
		if got, want := tr.Root(), Root(leaves); got != want {
			t.Fatalf("size %d: root %s, want %s", n, got, want)
		}
		for i := range n {
			got, err := tr.InclusionProof(uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := InclusionProof(leaves, uint64(i))
			if !slices.Equal(got, want) {
				t.Fatalf("size %d index %d: path differs", n, i)
			}
			if err := VerifyInclusion(uint64(i), uint64(n), leaves[i], got, tr.Root()); err != nil {
				t.Fatalf("size %d index %d: %v", n, i, err)
			}
		}
		if _, err := tr.InclusionProof(uint64(n)); err == nil {
			t.Fatalf("size %d: proof of index %d out of range", n, n)
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		leaves = append(leaves, Hash(sha256.Sum256(b[:])))
	}
}
