package hashchain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// HashSize is the length of every hash in this package (SHA-256).
const HashSize = sha256.Size

// Hash is a SHA-256 digest: a leaf hash, a Merkle node or root, a chain link
// or a payload hash.
type Hash [HashSize]byte

// ZeroHash is 32 zero bytes: chain[-1], the link before the first entry.
var ZeroHash Hash

// chainDomain separates chain links from every other SHA-256 use. It is
// followed by a 0x00 byte so that no other prefix can be extended into it.
const chainDomain = "custody/chain/v1"

// String returns h as 64 lowercase hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is ZeroHash.
func (h Hash) IsZero() bool { return h == ZeroHash }

// ParseHash parses 64 hex digits (either case) into a Hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("hashchain: parse hash: %w: want %d hex digits, got %d", ErrMalformed, 2*HashSize, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("hashchain: parse hash: %w: %w", ErrMalformed, err)
	}
	return h, nil
}

// MustParseHash is ParseHash for constants in tests and tables; it panics on
// bad input.
func MustParseHash(s string) Hash {
	h, err := ParseHash(s)
	if err != nil {
		panic(err)
	}
	return h
}

// LeafHash returns the RFC 6962 leaf hash SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) Hash {
	d := sha256.New()
	d.Write([]byte{0x00})
	d.Write(leaf)
	var h Hash
	d.Sum(h[:0])
	return h
}

// NodeHash returns the RFC 6962 interior node hash SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// ChainLink returns SHA-256("custody/chain/v1" || 0x00 || prev || leafHash),
// the next link of the append-only hash chain. prev is ZeroHash for the first
// entry.
func ChainLink(prev, leafHash Hash) Hash {
	var buf [len(chainDomain) + 1 + 2*HashSize]byte
	n := copy(buf[:], chainDomain)
	buf[n] = 0x00
	copy(buf[n+1:], prev[:])
	copy(buf[n+1+HashSize:], leafHash[:])
	return sha256.Sum256(buf[:])
}
