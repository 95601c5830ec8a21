package hashchain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// refLeaves are the leaf inputs of the RFC 6962 reference tree used by
// Certificate Transparency and transparency-dev/merkle (testonly.LeafInputs).
var refLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}

// refRoots[n] is the root of the first n reference leaves
// (testonly.RootHashes).
var refRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func refLeafHashes(t testing.TB) []Hash {
	t.Helper()
	out := make([]Hash, len(refLeaves))
	for i, s := range refLeaves {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = LeafHash(b)
	}
	return out
}

// testLeaves returns n distinct leaf hashes.
func testLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = LeafHash([]byte(fmt.Sprintf(`{"seq":%d}`, i)))
	}
	return out
}

func TestRootKnownAnswers(t *testing.T) {
	if got := Root(nil); got.String() != refRoots[0] || got != EmptyRoot {
		t.Fatalf("Root(empty) = %s, want %s", got, refRoots[0])
	}
	leaves := refLeafHashes(t)
	var b RootBuilder // the zero value must work
	if got := b.Root(); got != EmptyRoot || b.Size() != 0 {
		t.Fatalf("empty RootBuilder: size %d root %s", b.Size(), got)
	}
	for n := 1; n <= len(leaves); n++ {
		want := MustParseHash(refRoots[n])
		if got := Root(leaves[:n]); got != want {
			t.Errorf("Root(%d leaves) = %s, want %s", n, got, want)
		}
		b.Append(leaves[n-1])
		if got := b.Root(); got != want || b.Size() != uint64(n) {
			t.Errorf("RootBuilder after %d: size %d root %s, want %s", n, b.Size(), got, want)
		}
	}
}

// Known proofs for the reference tree, from transparency-dev/merkle's
// proof/verify_test.go (leaf numbers there are 1-based; here 0-based).
func TestProofKnownAnswers(t *testing.T) {
	leaves := refLeafHashes(t)
	inclusion := []struct {
		index, size uint64
		proof       []string
	}{
		{0, 1, nil},
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 3, []string{"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
		{1, 5, []string{
			"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
	}
	for _, c := range inclusion {
		got, err := InclusionProof(leaves[:c.size], c.index)
		if err != nil {
			t.Fatal(err)
		}
		if want := parseHashes(t, c.proof); !equalHashes(got, want) {
			t.Errorf("InclusionProof(%d, %d) = %v, want %v", c.index, c.size, got, want)
		}
		if err := VerifyInclusion(c.index, c.size, leaves[c.index], got, MustParseHash(refRoots[c.size])); err != nil {
			t.Errorf("VerifyInclusion(%d, %d): %v", c.index, c.size, err)
		}
	}

	consistency := []struct {
		m, n  uint64
		proof []string
	}{
		{1, 1, nil},
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{6, 8, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 5, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
		{6, 7, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
	}
	for _, c := range consistency {
		got, err := ConsistencyProof(leaves[:c.n], c.m)
		if err != nil {
			t.Fatal(err)
		}
		if want := parseHashes(t, c.proof); !equalHashes(got, want) {
			t.Errorf("ConsistencyProof(%d, %d) = %v, want %v", c.m, c.n, got, want)
		}
		if err := VerifyConsistency(c.m, c.n, MustParseHash(refRoots[c.m]), MustParseHash(refRoots[c.n]), got); err != nil {
			t.Errorf("VerifyConsistency(%d, %d): %v", c.m, c.n, err)
		}
	}
}

func parseHashes(t *testing.T, ss []string) []Hash {
	t.Helper()
	out := make([]Hash, len(ss))
	for i, s := range ss {
		out[i] = MustParseHash(s)
	}
	return out
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func flip(h Hash, i int) Hash {
	h[i%HashSize] ^= 0x01 << (i % 8)
	return h
}

// libVerifyInclusion checks with the library directly, so that our wrapper
// cannot hide a disagreement.
func libVerifyInclusion(index, size uint64, leaf Hash, p []Hash, root Hash) error {
	return proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], toSlices(p), root[:])
}

func TestInclusionProofsAllIndices(t *testing.T) {
	all := testLeaves(70)
	for n := 1; n <= len(all); n++ {
		leaves := all[:n]
		root := Root(leaves)
		size := uint64(n)
		for i := uint64(0); i < size; i++ {
			p, err := InclusionProof(leaves, i)
			if err != nil {
				t.Fatal(err)
			}
			if err := libVerifyInclusion(i, size, leaves[i], p, root); err != nil {
				t.Fatalf("library rejects proof for %d/%d: %v", i, n, err)
			}
			if err := VerifyInclusion(i, size, leaves[i], p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d/%d): %v", i, n, err)
			}
			mustFailInclusion(t, "flipped leaf", i, size, flip(leaves[i], int(i)), p, root)
			mustFailInclusion(t, "flipped root", i, size, leaves[i], p, flip(root, int(i)))
			for j := range p {
				for _, bit := range []int{0, 7 * 8, 31*8 + 7} {
					q := append([]Hash(nil), p...)
					q[j] = flip(q[j], bit)
					mustFailInclusion(t, fmt.Sprintf("flipped proof[%d] bit %d", j, bit), i, size, leaves[i], q, root)
				}
			}
			if len(p) > 0 {
				mustFailInclusion(t, "truncated proof", i, size, leaves[i], p[:len(p)-1], root)
			}
			mustFailInclusion(t, "extended proof", i, size, leaves[i], append(append([]Hash(nil), p...), root), root)
			mustFailInclusion(t, "index out of range", size, size, leaves[i], p, root)
			if n > 1 {
				other := (i + 1) % size
				mustFailInclusion(t, "other leaf", i, size, leaves[other], p, root)
				mustFailInclusion(t, "other index", other, size, leaves[i], p, root)
			}
		}
		if _, err := InclusionProof(leaves, size); err == nil {
			t.Fatalf("InclusionProof(index %d = size) succeeded", size)
		}
	}
	if _, err := InclusionProof(nil, 0); err == nil {
		t.Fatal("InclusionProof on the empty tree succeeded")
	}
}

func mustFailInclusion(t *testing.T, what string, index, size uint64, leaf Hash, p []Hash, root Hash) {
	t.Helper()
	err := VerifyInclusion(index, size, leaf, p, root)
	if !errors.Is(err, ErrProof) {
		t.Fatalf("%s: VerifyInclusion(%d/%d) error = %v, want ErrProof", what, index, size, err)
	}
}

func TestConsistencyProofsAllPairs(t *testing.T) {
	all := testLeaves(40)
	roots := make([]Hash, len(all)+1)
	for n := range roots {
		roots[n] = Root(all[:n])
	}
	for n := 0; n <= len(all); n++ {
		for m := 0; m <= n; m++ {
			oldSize, newSize := uint64(m), uint64(n)
			p, err := ConsistencyProof(all[:n], oldSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, newSize, toSlices(p), roots[m][:], roots[n][:]); err != nil {
				t.Fatalf("library rejects proof %d -> %d: %v", m, n, err)
			}
			if err := VerifyConsistency(oldSize, newSize, roots[m], roots[n], p); err != nil {
				t.Fatalf("VerifyConsistency(%d -> %d): %v", m, n, err)
			}
			if m == n || m == 0 {
				if len(p) != 0 {
					t.Fatalf("proof %d -> %d has %d hashes, want none", m, n, len(p))
				}
			}
			mustFailConsistency(t, "flipped old root", oldSize, newSize, flip(roots[m], m+n), roots[n], p)
			if m > 0 {
				// For m = 0 the new root is unconstrained: every tree extends
				// the empty one.
				mustFailConsistency(t, "flipped new root", oldSize, newSize, roots[m], flip(roots[n], m+n), p)
			}
			for j := range p {
				for _, bit := range []int{0, 100, 255} {
					q := append([]Hash(nil), p...)
					q[j] = flip(q[j], bit)
					mustFailConsistency(t, fmt.Sprintf("flipped proof[%d]", j), oldSize, newSize, roots[m], roots[n], q)
				}
			}
			if len(p) > 0 {
				mustFailConsistency(t, "truncated proof", oldSize, newSize, roots[m], roots[n], p[:len(p)-1])
			}
			mustFailConsistency(t, "extended proof", oldSize, newSize, roots[m], roots[n], append(append([]Hash(nil), p...), roots[n]))
			if m < n {
				mustFailConsistency(t, "swapped sizes", newSize, oldSize, roots[n], roots[m], p)
				if m > 0 {
					mustFailConsistency(t, "roots swapped", oldSize, newSize, roots[n], roots[m], p)
				}
				if m+1 < n {
					mustFailConsistency(t, "wrong old size", oldSize+1, newSize, roots[m+1], roots[n], p)
				}
			}
		}
		if _, err := ConsistencyProof(all[:n], uint64(n)+1); err == nil {
			t.Fatalf("ConsistencyProof(old %d > size %d) succeeded", n+1, n)
		}
	}
}

func mustFailConsistency(t *testing.T, what string, m, n uint64, oldRoot, newRoot Hash, p []Hash) {
	t.Helper()
	err := VerifyConsistency(m, n, oldRoot, newRoot, p)
	if !errors.Is(err, ErrProof) {
		t.Fatalf("%s: VerifyConsistency(%d -> %d) error = %v, want ErrProof", what, m, n, err)
	}
}

func TestRootBuilderMatchesRoot(t *testing.T) {
	all := testLeaves(300)
	b := NewRootBuilder()
	for n := 1; n <= len(all); n++ {
		b.Append(all[n-1])
		if got, want := b.Root(), Root(all[:n]); got != want {
			t.Fatalf("size %d: builder root %s, Root %s", n, got, want)
		}
		if len(b.State()) > 64 {
			t.Fatalf("size %d: state has %d hashes", n, len(b.State()))
		}
	}
}

func TestRootBuilderResume(t *testing.T) {
	all := testLeaves(100)
	for _, cut := range []int{0, 1, 2, 3, 7, 8, 33, 64, 99} {
		a := NewRootBuilder()
		for _, h := range all[:cut] {
			a.Append(h)
		}
		state := a.State()
		b, err := RootBuilderFromState(a.Size(), state)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		// Mutating the returned state must not affect either builder.
		if len(state) > 0 {
			state[0] = ZeroHash
		}
		for _, h := range all[cut:] {
			b.Append(h)
		}
		if got, want := b.Root(), Root(all); got != want {
			t.Fatalf("cut %d: resumed root %s, want %s", cut, got, want)
		}
		if b.Size() != uint64(len(all)) {
			t.Fatalf("cut %d: resumed size %d", cut, b.Size())
		}
	}
	if _, err := RootBuilderFromState(3, []Hash{ZeroHash}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("RootBuilderFromState with wrong hash count: error = %v, want ErrMalformed", err)
	}
}

func TestVerifyConsistencyEmptyTree(t *testing.T) {
	leaves := testLeaves(5)
	root := Root(leaves)
	if err := VerifyConsistency(0, 5, EmptyRoot, root, nil); err != nil {
		t.Fatalf("empty -> 5: %v", err)
	}
	// The library ignores the old root for size 0; a wrong one must not pass.
	if err := VerifyConsistency(0, 5, root, root, nil); !errors.Is(err, ErrProof) {
		t.Fatalf("non-empty old root for size 0: error = %v, want ErrProof", err)
	}
	if err := VerifyConsistency(0, 0, EmptyRoot, root, nil); !errors.Is(err, ErrProof) {
		t.Fatalf("non-empty new root for size 0: error = %v, want ErrProof", err)
	}
	if err := VerifyConsistency(0, 0, EmptyRoot, EmptyRoot, nil); err != nil {
		t.Fatalf("empty -> empty: %v", err)
	}
}

// A failed proof names the roots in hex, on one line, and still matches
// ErrProof and the library's error type.
func TestVerifyRootMismatchInHex(t *testing.T) {
	leaves := testLeaves(8)
	root := Root(leaves)
	p, err := InclusionProof(leaves, 3)
	if err != nil {
		t.Fatal(err)
	}
	wrong := root
	wrong[0] ^= 1
	err = VerifyInclusion(3, 8, leaves[3], p, wrong)
	if !errors.Is(err, ErrProof) {
		t.Fatalf("err = %v, want ErrProof", err)
	}
	var rm proof.RootMismatchError
	if !errors.As(err, &rm) {
		t.Fatalf("err = %v, want a proof.RootMismatchError inside", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "[") || strings.Contains(msg, "\n") || !strings.Contains(msg, "expected root "+wrong.String()) {
		t.Errorf("error not in hex on one line: %q", msg)
	}
	cp, err := ConsistencyProof(leaves, 5)
	if err != nil {
		t.Fatal(err)
	}
	err = VerifyConsistency(5, 8, Root(leaves[:5]), wrong, cp)
	if msg := fmt.Sprint(err); !errors.Is(err, ErrProof) || strings.Contains(msg, "[") || strings.Contains(msg, "\n") {
		t.Errorf("consistency error = %q", msg)
	}
}
