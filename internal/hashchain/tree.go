package hashchain

import (
	"fmt"
	"math/bits"
)

// Tree holds every full subtree hash of a Merkle tree, so that many
// inclusion proofs (a production proves each of its messages) cost
// O(log² n) each instead of InclusionProof's O(n). It takes about twice
// the memory of the leaf hashes.
type Tree struct {
	// levels[k][i] is the hash of the full subtree of 2^k leaves that
	// starts at leaf i·2^k.
	levels [][]Hash
	// edge[lo] is MTH(D[lo:n]) for the subtrees along the right edge
	// that are not full: every proof needs some of them, so they are
	// hashed once, not once per proof.
	edge map[uint64]Hash
}

// NewTree builds the tree over leafHashes (which it keeps, not copies).
func NewTree(leafHashes []Hash) *Tree {
	t := &Tree{levels: [][]Hash{leafHashes}}
	for cur := leafHashes; len(cur) > 1; {
		next := make([]Hash, len(cur)/2)
		for i := range next {
			next[i] = NodeHash(cur[2*i], cur[2*i+1])
		}
		t.levels = append(t.levels, next)
		cur = next
	}
	t.edge = map[uint64]Hash{}
	if n := t.Size(); n > 0 {
		t.edge[0] = t.edgeHash(0, n)
	}
	return t
}

// edgeHash computes and keeps MTH(D[lo:n]) and the right-edge subtrees
// below it; lo is on the right edge (see mth).
func (t *Tree) edgeHash(lo, n uint64) Hash {
	m := n - lo
	if m&(m-1) == 0 && lo%m == 0 {
		k := bits.TrailingZeros64(m)
		return t.levels[k][lo>>k]
	}
	k := splitPoint(m)
	h := NodeHash(t.mth(lo, lo+k), t.edgeHash(lo+k, n))
	t.edge[lo] = h
	return h
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 { return uint64(len(t.levels[0])) }

// Leaves returns the leaf hashes the tree was built over (not a copy).
func (t *Tree) Leaves() []Hash { return t.levels[0] }

// Root is the RFC 6962 root of the whole tree.
func (t *Tree) Root() Hash {
	if t.Size() == 0 {
		return Root(nil)
	}
	return t.mth(0, t.Size())
}

// mth is MTH(D[lo:hi]) for a range that the RFC's recursion visits: lo is
// a multiple of the largest power of two below hi-lo, so every left part
// is a stored full subtree.
func (t *Tree) mth(lo, hi uint64) Hash {
	n := hi - lo
	if n&(n-1) == 0 && lo%n == 0 {
		k := bits.TrailingZeros64(n)
		return t.levels[k][lo>>k]
	}
	if hi == t.Size() {
		if h, ok := t.edge[lo]; ok {
			return h
		}
	}
	k := splitPoint(n)
	return NodeHash(t.mth(lo, lo+k), t.mth(lo+k, hi))
}

// InclusionProof is the package's InclusionProof(leafHashes, index) on the
// tree's leaves.
func (t *Tree) InclusionProof(index uint64) ([]Hash, error) {
	n := t.Size()
	if index >= n {
		return nil, fmt.Errorf("hashchain: inclusion proof: index %d out of range for tree size %d", index, n)
	}
	return t.path(index, 0, n, make([]Hash, 0, bits.Len64(n))), nil
}

func (t *Tree) path(m, lo, hi uint64, out []Hash) []Hash {
	n := hi - lo
	if n <= 1 {
		return out
	}
	k := splitPoint(n)
	if m < k {
		out = t.path(m, lo, lo+k, out)
		return append(out, t.mth(lo+k, hi))
	}
	out = t.path(m-k, lo+k, hi, out)
	return append(out, t.mth(lo, lo+k))
}
