package report

import (
	"fmt"
	"math/bits"

	"github.com/custodyhq/custody/internal/hashchain"
)

// prover builds RFC 6962 inclusion proofs for many leaves of one tree:
// ledger.Prove re-reads every leaf hash for each proof, which for a
// report's thousands of proofs is quadratic. It keeps the perfect
// subtrees' hashes level by level (about two hashes per leaf), so each
// proof costs a logarithm; every proof is checked against the signed root
// before it is written (hashchain.VerifyInclusion).
type prover struct {
	levels [][]hashchain.Hash // levels[j][i]: the subtree of leaves [i·2^j, (i+1)·2^j)
	size   uint64
}

func newProver(leafHashes []hashchain.Hash) *prover {
	p := &prover{size: uint64(len(leafHashes))}
	p.levels = append(p.levels, leafHashes)
	for cur := leafHashes; len(cur) > 1; {
		next := make([]hashchain.Hash, len(cur)/2)
		for i := range next {
			next[i] = hashchain.NodeHash(cur[2*i], cur[2*i+1])
		}
		p.levels = append(p.levels, next)
		cur = next
	}
	return p
}

// mth is the hash of leaves [start, start+n).
func (p *prover) mth(start, n uint64) hashchain.Hash {
	if n == 0 { // the empty tree (a checkpoint of a ledger with no entries)
		return hashchain.EmptyRoot
	}
	if n&(n-1) == 0 { // a perfect subtree: start is a multiple of n
		j := bits.TrailingZeros64(n)
		return p.levels[j][start>>j]
	}
	k := split(n)
	return hashchain.NodeHash(p.mth(start, k), p.mth(start+k, n-k))
}

// split is the largest power of two smaller than n (n > 1).
func split(n uint64) uint64 { return 1 << (bits.Len64(n-1) - 1) }

// proof is PATH(m, D[0:size]) of RFC 6962 section 2.1.1.
func (p *prover) proof(m uint64) ([]hashchain.Hash, error) {
	if m >= p.size {
		return nil, fmt.Errorf("report: proof of leaf %d in a tree of %d", m, p.size)
	}
	var out []hashchain.Hash
	var path func(m, start, n uint64)
	path = func(m, start, n uint64) {
		if n <= 1 {
			return
		}
		k := split(n)
		if m < k {
			path(m, start, k)
			out = append(out, p.mth(start+k, n-k))
		} else {
			path(m-k, start+k, n-k)
			out = append(out, p.mth(start, k))
		}
	}
	path(m, 0, p.size)
	return out, nil
}
