package hashchain

import (
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

func TestParseHashRoundTrip(t *testing.T) {
	const s = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != s {
		t.Fatalf("String() = %s, want %s", h, s)
	}
	upper, err := ParseHash(strings.ToUpper(s))
	if err != nil || upper != h {
		t.Fatalf("ParseHash(upper) = %v, %v; want %v", upper, err, h)
	}
	if ZeroHash.String() != strings.Repeat("0", 64) || !ZeroHash.IsZero() || h.IsZero() {
		t.Fatal("ZeroHash is not 32 zero bytes")
	}
}

func TestParseHashRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":     "",
		"short":     strings.Repeat("a", 62),
		"long":      strings.Repeat("a", 66),
		"non-hex":   strings.Repeat("g", 64),
		"space":     " " + strings.Repeat("a", 63),
		"0x prefix": "0x" + strings.Repeat("a", 62),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseHash(in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHash(%q) error = %v, want ErrMalformed", in, err)
			}
		})
	}
}

// The leaf and node hashes must be exactly RFC 6962's, as computed by the
// library whose verifiers custody relies on.
func TestLeafAndNodeHashMatchRFC6962(t *testing.T) {
	for _, leaf := range [][]byte{nil, {}, {0}, []byte("custody"), make([]byte, 1000)} {
		want := rfc6962.DefaultHasher.HashLeaf(leaf)
		if got := LeafHash(leaf); string(got[:]) != string(want) {
			t.Fatalf("LeafHash(%x) = %s, want %x", leaf, got, want)
		}
	}
	l, r := LeafHash([]byte("l")), LeafHash([]byte("r"))
	want := rfc6962.DefaultHasher.HashChildren(l[:], r[:])
	if got := NodeHash(l, r); string(got[:]) != string(want) {
		t.Fatalf("NodeHash = %s, want %x", got, want)
	}
	if NodeHash(l, r) == NodeHash(r, l) {
		t.Fatal("NodeHash is symmetric")
	}
}

// Known answers computed outside Go (Python hashlib) from the byte format
// in doc.go, so a change to the chain format cannot go unnoticed.
func TestChainLinkKnownAnswers(t *testing.T) {
	leaf0 := LeafHash(nil)
	if want := MustParseHash("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"); leaf0 != want {
		t.Fatalf("LeafHash(empty) = %s, want %s", leaf0, want)
	}
	c0 := ChainLink(ZeroHash, leaf0)
	if want := MustParseHash("2f69188e01d59ec3afc0bc88bb1ca5336854b199a38c56ac921f28111187c66f"); c0 != want {
		t.Fatalf("chain[0] = %s, want %s", c0, want)
	}
	leaf1 := LeafHash([]byte(`{"a":1}`))
	if want := MustParseHash("c7261463ebd776f4650b6d0fe942d9cc38c925d90f77d440ab6df8d5dd258c5f"); leaf1 != want {
		t.Fatalf("LeafHash({\"a\":1}) = %s, want %s", leaf1, want)
	}
	c1 := ChainLink(c0, leaf1)
	if want := MustParseHash("83e7517be1a58a42325ee85f22808c91741fda64ee27b4e8231e7e1fcb052bec"); c1 != want {
		t.Fatalf("chain[1] = %s, want %s", c1, want)
	}
	// Order matters: swapping prev and leaf must give another link.
	if ChainLink(leaf1, c0) == c1 {
		t.Fatal("ChainLink ignores argument order")
	}
}

func TestMustParseHashPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustParseHash did not panic on bad input")
		}
	}()
	MustParseHash("zz")
}
