package sim

import (
	"encoding/hex"
	"math/rand/v2"
)

// Tags separate the random streams derived from one seed, so adding a field
// to one kind of object never shifts the values of another.
const (
	tagOrg uint64 = iota + 1
	tagHeader
	tagConvID
	tagSkeleton
	tagMessages
	tagAudits
	tagMedia
	tagMediaBytes
	tagClient
	tagToken
	tagCorrelation
	tagFault
	tagJob
	tagGone
	tagRuntime
	tagContent
	tagRecording
	tagHeaderMedia
)

// mix is SplitMix64's finaliser: a fast, well-distributed 64-bit hash step.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash folds a seed and any number of integers into 64 bits.
func hash(seed int64, parts ...uint64) uint64 {
	h := mix(uint64(seed))
	for _, p := range parts {
		h = mix(h ^ p)
	}
	return h
}

// hashString folds a string into 64 bits (FNV-1a, then mixed).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// newRand returns a generator for one stream of one object.
func newRand(seed int64, parts ...uint64) *rand.Rand {
	a := hash(seed, parts...)
	return rand.New(rand.NewPCG(a, mix(a^0x5851f42d4c957f2d)))
}

// uuidFrom formats 128 bits as a version-4-shaped UUID.
func uuidFrom(hi, lo uint64) string {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// uuidOf is a deterministic UUID for the given stream.
func uuidOf(seed int64, parts ...uint64) string {
	h := hash(seed, parts...)
	return uuidFrom(h, mix(h^0xa0761d6478bd642f))
}

// hexID is a deterministic 32-hex-digit id (the shape of Genesys message ids).
func hexID(seed int64, parts ...uint64) string {
	h := hash(seed, parts...)
	var b [16]byte
	l := mix(h ^ 0xe7037ed1a0b428db)
	for i := 0; i < 8; i++ {
		b[i] = byte(h >> (56 - 8*i))
		b[8+i] = byte(l >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// indexedUUID is a UUID whose last 48 bits carry index masked by key, so
// the index can be recovered from the id without a lookup table; the other
// bits come from h.
func indexedUUID(h, key uint64, index int) string {
	lo := mix(h^0x8ebc6af09c88c6e3)&^0xffffffffffff | (uint64(index)^key)&0xffffffffffff
	return uuidFrom(h, lo)
}

// indexFromUUID recovers the index of indexedUUID; ok is false when s is
// not shaped like a UUID. The caller must compare the regenerated id.
func indexFromUUID(s string, key uint64) (int, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return 0, false
	}
	var b [6]byte
	if _, err := hex.Decode(b[:], []byte(s[24:36])); err != nil {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return int((v ^ key) & 0xffffffffffff), true
}
