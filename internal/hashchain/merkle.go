package hashchain

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// EmptyRoot is the Merkle tree hash of the empty tree, SHA-256 of no bytes.
var EmptyRoot Hash = sha256.Sum256(nil)

// Root returns the RFC 9162 Merkle tree hash MTH(D[0:n]) over already
// hashed leaves. The empty tree has root EmptyRoot.
func Root(leafHashes []Hash) Hash {
	if len(leafHashes) == 0 {
		return EmptyRoot
	}
	return mth(leafHashes)
}

// mth is MTH for n >= 1, recursing on the largest power of two below n as
// RFC 9162 §2.1.1 does; depth is O(log n).
func mth(d []Hash) Hash {
	if len(d) == 1 {
		return d[0]
	}
	k := splitPoint(uint64(len(d)))
	return NodeHash(mth(d[:k]), mth(d[k:]))
}

// splitPoint returns the largest power of two strictly less than n (n >= 2).
func splitPoint(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}

// RootBuilder computes the Merkle root of a stream of leaf hashes in O(log n)
// memory, holding only the compact range [0, Size()). The zero value is an
// empty tree ready for use. Copies share state: pass a *RootBuilder.
type RootBuilder struct {
	r *compact.Range
}

// rangeFactory hashes compact-range nodes with RFC 6962 interior hashing:
// NodeHash, which is rfc6962.DefaultHasher.HashChildren (TestLeafAndNodeHashMatchRFC6962)
// without its hasher object and two buffers a node (verify builds a root
// over every entry). The range's hashes are always HashSize bytes: its
// leaves are Append's and RootBuilderFromState's, both Hash.
var rangeFactory = &compact.RangeFactory{Hash: func(left, right []byte) []byte {
	h := NodeHash(Hash(left), Hash(right))
	return h[:]
}}

// NewRootBuilder returns an empty RootBuilder.
func NewRootBuilder() *RootBuilder { return &RootBuilder{} }

// RootBuilderFromState resumes a RootBuilder from the size and compact-range
// hashes returned by State, so a stream can continue from a stored position.
func RootBuilderFromState(size uint64, hashes []Hash) (*RootBuilder, error) {
	hs := make([][]byte, len(hashes))
	for i := range hashes {
		hs[i] = append([]byte(nil), hashes[i][:]...)
	}
	r, err := rangeFactory.NewRange(0, size, hs)
	if err != nil {
		return nil, fmt.Errorf("hashchain: resume root builder at size %d: %w: %w", size, ErrMalformed, err)
	}
	return &RootBuilder{r: r}, nil
}

func (b *RootBuilder) rng() *compact.Range {
	if b.r == nil {
		b.r = rangeFactory.NewEmptyRange(0)
	}
	return b.r
}

// Append adds the next leaf hash.
func (b *RootBuilder) Append(leafHash Hash) {
	h := leafHash // copy: the range keeps the slice.
	if err := b.rng().Append(h[:], nil); err != nil {
		// Appending one leaf to a range starting at 0 cannot fail unless
		// the range is internally inconsistent, which State/FromState
		// validation rules out.
		panic(fmt.Sprintf("hashchain: root builder append: %v", err))
	}
}

// Size returns the number of leaves appended so far.
func (b *RootBuilder) Size() uint64 {
	if b.r == nil {
		return 0
	}
	return b.r.End()
}

// Root returns the Merkle tree hash of the leaves appended so far.
func (b *RootBuilder) Root() Hash {
	if b.Size() == 0 {
		return EmptyRoot
	}
	r, err := b.r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("hashchain: root builder root: %v", err))
	}
	return Hash(r)
}

// State returns the compact-range hashes (the roots of the perfect subtrees
// covering [0, Size()), left to right); with Size it is enough to resume.
func (b *RootBuilder) State() []Hash {
	if b.r == nil {
		return nil
	}
	hs := b.r.Hashes()
	out := make([]Hash, len(hs))
	for i, h := range hs {
		out[i] = Hash(h)
	}
	return out
}

// InclusionProof returns the RFC 9162 §2.1.3.1 audit path PATH(index,
// D[0:n]) for the leaf at index in the tree of all n = len(leafHashes)
// leaves, ordered from the leaf's sibling up to the root's child. It hashes
// every leaf once (O(n)), which suits proofs on demand, not bulk proving.
func InclusionProof(leafHashes []Hash, index uint64) ([]Hash, error) {
	n := uint64(len(leafHashes))
	if index >= n {
		return nil, fmt.Errorf("hashchain: inclusion proof: index %d out of range for tree size %d", index, n)
	}
	return path(index, leafHashes, make([]Hash, 0, bits.Len64(n))), nil
}

// path appends PATH(m, d) to out. The RFC's recursive definition puts the
// sibling subtree hash after the deeper path, so recursing first and then
// appending yields leaf-to-root order.
func path(m uint64, d []Hash, out []Hash) []Hash {
	n := uint64(len(d))
	if n <= 1 {
		return out
	}
	k := splitPoint(n)
	if m < k {
		out = path(m, d[:k], out)
		return append(out, mth(d[k:]))
	}
	out = path(m-k, d[k:], out)
	return append(out, mth(d[:k]))
}

// ConsistencyProof returns the RFC 9162 §2.1.4.1 proof PROOF(oldSize,
// D[0:n]) that the tree of the first oldSize leaves is a prefix of the tree
// of all n = len(leafHashes) leaves. The proof is empty when oldSize is 0 or
// n. Like InclusionProof it is O(n) in hashing.
func ConsistencyProof(leafHashes []Hash, oldSize uint64) ([]Hash, error) {
	n := uint64(len(leafHashes))
	if oldSize > n {
		return nil, fmt.Errorf("hashchain: consistency proof: old size %d exceeds tree size %d", oldSize, n)
	}
	if oldSize == 0 || oldSize == n {
		return []Hash{}, nil
	}
	return subproof(oldSize, leafHashes, true, make([]Hash, 0, 2*bits.Len64(n))), nil
}

// subproof appends SUBPROOF(m, d, b) to out, for 0 < m <= len(d).
func subproof(m uint64, d []Hash, b bool, out []Hash) []Hash {
	n := uint64(len(d))
	if m == n {
		if b {
			return out
		}
		return append(out, mth(d))
	}
	k := splitPoint(n)
	if m <= k {
		out = subproof(m, d[:k], b, out)
		return append(out, mth(d[k:]))
	}
	out = subproof(m-k, d[k:], false, out)
	return append(out, mth(d[:k]))
}

func toSlices(p []Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// rootMismatchError is proof.RootMismatchError with its roots in hex: the
// library prints them as Go byte slices ("[148 57 205 …]") over several
// lines, which no reader can compare with a checkpoint.
type rootMismatchError struct{ err proof.RootMismatchError }

func (e rootMismatchError) Error() string {
	return fmt.Sprintf("calculated root %x does not match expected root %x", e.err.CalculatedRoot, e.err.ExpectedRoot)
}

func (e rootMismatchError) Unwrap() error { return e.err }

// hexRoots returns err with a root mismatch spelled in hex.
func hexRoots(err error) error {
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return rootMismatchError{rm}
	}
	return err
}

// VerifyInclusion checks that proof shows leaf at index is in the tree of the
// given size with the given root. It returns an error wrapping ErrProof if
// not.
func VerifyInclusion(index, size uint64, leaf Hash, proofHashes []Hash, root Hash) error {
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], toSlices(proofHashes), root[:]); err != nil {
		return fmt.Errorf("hashchain: verify inclusion of leaf %d in tree size %d: %w: %w", index, size, ErrProof, hexRoots(err))
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of oldSize leaves with
// oldRoot is a prefix of the tree of newSize leaves with newRoot. It returns
// an error wrapping ErrProof if not.
func VerifyConsistency(oldSize, newSize uint64, oldRoot, newRoot Hash, proofHashes []Hash) error {
	// The library accepts any old root for size 0; the only tree of size 0
	// has EmptyRoot, so anything else is a false claim.
	if oldSize == 0 && oldRoot != EmptyRoot {
		return fmt.Errorf("hashchain: verify consistency %d -> %d: %w: old root of the empty tree is not the empty root", oldSize, newSize, ErrProof)
	}
	if newSize == 0 && newRoot != EmptyRoot {
		return fmt.Errorf("hashchain: verify consistency %d -> %d: %w: new root of the empty tree is not the empty root", oldSize, newSize, ErrProof)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, newSize, toSlices(proofHashes), oldRoot[:], newRoot[:]); err != nil {
		return fmt.Errorf("hashchain: verify consistency %d -> %d: %w: %w", oldSize, newSize, ErrProof, hexRoots(err))
	}
	return nil
}
