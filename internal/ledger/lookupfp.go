package ledger

// Verify compares every entries row's lookup columns with its leaf, and
// the message index with the entries (columns.go). Handing each row's
// four columns to Go cost a fifth of a ledger-only verify (a string and
// an interface for each, through database/sql); SQLite instead hands a
// keyed fingerprint of them, one integer a row, and one sum of keyed
// fingerprints for the whole index. The key is drawn for each
// verification, so no ledger can be written beforehand to make different
// columns, or another index, give the same values. SQLite computes the
// file's fingerprints here, in C; Go computes what the leaves call for
// (ColumnsFingerprint, IndexRowFingerprint) with the same SipHash written
// in Go, which saves a call into C for each entry: TestLookupFingerprints
// holds the two to each other and to the published test vectors.
//
// Both are SipHash-2-4 (Aumasson and Bernstein), a keyed function made
// for this: its outputs cannot be told from random without the key.

/*
#include "sqlite3decl.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                     \
	do {                                                             \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);    \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                       \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                       \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);    \
	} while (0)

// lookupSip is SipHash-2-4 of le64(w) || in[0:len] under the key
// (k0, k1): a message of one 64-bit word, then bytes.
static uint64_t lookupSip(uint64_t k0, uint64_t k1, uint64_t w, const unsigned char *in, size_t len) {
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = ((uint64_t)(len + 8)) << 56, m;
	size_t i, whole = len - len % 8;
	v3 ^= w; SIPROUND; SIPROUND; v0 ^= w;
	for (i = 0; i < whole; i += 8) {
		m = (uint64_t)in[i] | (uint64_t)in[i + 1] << 8 | (uint64_t)in[i + 2] << 16 | (uint64_t)in[i + 3] << 24 |
			(uint64_t)in[i + 4] << 32 | (uint64_t)in[i + 5] << 40 | (uint64_t)in[i + 6] << 48 | (uint64_t)in[i + 7] << 56;
		v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
	}
	for (i = 0; i < len % 8; i++) {
		b |= (uint64_t)in[whole + i] << (8 * i);
	}
	v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
	v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

// The fingerprint of an entries row: the sum over its lookup columns i
// of SipHash(le64(seq) || value) under a key of column i's own, NULL
// under yet another (so NULL and "" differ, and so do equal values in
// two columns, or in two rows). A change of any column of any row
// changes a sum of them unpredictably. lookupNullKey and lookupIndexKey
// are fixed offsets of the drawn key.
#define lookupNullKey 0x9e3779b97f4a7c15ULL
#define lookupIndexKey 0x5bd1e9955bd1e995ULL
// lookupOtherKey keys a column or index value of a type custody never
// writes there (a BLOB or number in a text column, text in an integer
// one, which a file whose STRICT was taken off can hold): Go never
// computes a fingerprint under it, so such a value never sums like the
// one it imitates, whose lookups it would escape (a BLOB never equals a
// text argument).
#define lookupOtherKey 0xc2b2ae3d27d4eb4fULL

// lookupValue is SipHash(le64(w) || v's text) under (k0, k1), or under
// (k0, k1 ^ lookupOtherKey ^ type) when v is not of type want; NULL's
// text is empty. Out of memory (no text for a value that has bytes) is
// a value Go never computes either.
static uint64_t lookupValue(uint64_t k0, uint64_t k1, uint64_t w, sqlite3_value *v, int want) {
	int t = sqlite3_value_type(v);
	const unsigned char *p = sqlite3_value_text(v);
	size_t n = (size_t)sqlite3_value_bytes(v);
	if (t != want) {
		k1 ^= lookupOtherKey ^ (uint64_t)t;
	}
	if (!p) {
		if (n != 0) {
			k1 ^= lookupOtherKey;
		}
		n = 0;
	}
	return lookupSip(k0, k1, w, p, n);
}

// lookupRow is the fingerprint of the row at seq whose lookup columns
// are v[0:4].
static uint64_t lookupRow(uint64_t k0, uint64_t k1, uint64_t seq, sqlite3_value **v) {
	uint64_t sum = 0;
	for (int i = 0; i < 4; i++) {
		if (sqlite3_value_type(v[i]) == custodyNull) {
			sum += lookupSip(k0 + (uint64_t)i, k1 ^ lookupNullKey, seq, 0, 0);
		} else {
			sum += lookupValue(k0 + (uint64_t)i, k1, seq, v[i], custodyText);
		}
	}
	return sum;
}

// custody_columns_fp(k0, k1, seq, kind, conversation_id, message_id,
// run_id): the row's fingerprint.
static void lookupColumnsFunc(sqlite3_context *ctx, int argc, sqlite3_value **v) {
	sqlite3_result_int64(ctx, (long long)lookupRow((uint64_t)sqlite3_value_int64(v[0]), (uint64_t)sqlite3_value_int64(v[1]),
		(uint64_t)sqlite3_value_int64(v[2]), v + 3));
}

// custody_index_sum(k0, k1, key, seq): the sum over index rows of
// SipHash(le64(key) || le64(seq)).
static void lookupIndexStep(sqlite3_context *ctx, int argc, sqlite3_value **v) {
	uint64_t *sum = sqlite3_aggregate_context(ctx, sizeof(uint64_t));
	if (sum) {
		uint64_t k0 = (uint64_t)sqlite3_value_int64(v[0]) ^ lookupIndexKey, k1 = (uint64_t)sqlite3_value_int64(v[1]);
		if (sqlite3_value_type(v[2]) != custodyInteger || sqlite3_value_type(v[3]) != custodyInteger) {
			// A key or seq that is not an integer: no lookup finds the
			// row, whatever its text says.
			*sum += lookupValue(k0, k1, 0, v[2], custodyInteger) + lookupValue(k0, k1, 1, v[3], custodyInteger);
			return;
		}
		unsigned char b[8];
		uint64_t seq = (uint64_t)sqlite3_value_int64(v[3]);
		for (int i = 0; i < 8; i++) {
			b[i] = (unsigned char)(seq >> (8 * i));
		}
		*sum += lookupSip(k0, k1, (uint64_t)sqlite3_value_int64(v[2]), b, 8);
	}
}

static void lookupFinal(sqlite3_context *ctx) {
	uint64_t *sum = sqlite3_aggregate_context(ctx, 0);
	sqlite3_result_int64(ctx, sum ? (long long)*sum : 0);
}

static int lookupExtension(sqlite3 *db, char **err, const void *api) {
	int flags = custodyUTF8 | custodyDeterministic | custodyDirectOnly;
	int rc = sqlite3_create_function_v2(db, "custody_columns_fp", 7, flags, 0, lookupColumnsFunc, 0, 0, 0);
	if (rc == 0) {
		rc = sqlite3_create_function_v2(db, "custody_index_sum", 4, flags, 0, 0, lookupIndexStep, lookupFinal, 0);
	}
	return rc;
}

static int lookupRegister(void) {
	return sqlite3_auto_extension((void (*)(void))lookupExtension);
}
*/
import "C"

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/custodyhq/custody/internal/leaf"
)

// registerLookupFuncs makes custody_columns_fp and custody_index_sum
// available on every SQLite connection opened from now on.
func registerLookupFuncs() error {
	if rc := C.lookupRegister(); rc != 0 {
		return fmt.Errorf("ledger: registering custody_columns_fp: sqlite3_auto_extension: code %d", int(rc))
	}
	return nil
}

// LookupKey keys the fingerprints of lookup columns and index rows.
// Draw a new one (NewLookupKey) for each verification.
type LookupKey struct{ K0, K1 uint64 }

// NewLookupKey draws a random LookupKey.
func NewLookupKey() LookupKey {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return LookupKey{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}
}

// args are k's halves as SQL arguments.
func (k LookupKey) args() []any { return []any{int64(k.K0), int64(k.K1)} }

const (
	lookupNullKey  = 0x9e3779b97f4a7c15
	lookupIndexKey = 0x5bd1e9955bd1e995
	// lookupSubjectKey offsets the keys of SubjectFingerprint, which no
	// C code computes.
	lookupSubjectKey = 0x27d4eb2f165667c5
)

// ColumnsFingerprint is the fingerprint under k of the lookup columns
// custody writes at seq for e (NULL for a member e lacks): what
// Snapshot.EntriesFingerprinted gives for a row whose columns are its
// leaf's. It is what custody_columns_fp computes in C
// (TestLookupFingerprints), in Go: no call into C for each entry.
func ColumnsFingerprint(k LookupKey, seq uint64, e *leaf.Entry) uint64 {
	var sum uint64
	for i, m := range members(e) {
		if m == "" {
			sum += sipWordString(k.K0+uint64(i), k.K1^lookupNullKey, seq, "")
		} else {
			sum += sipWordString(k.K0+uint64(i), k.K1, seq, m)
		}
	}
	return sum
}

// IndexRowFingerprint is the fingerprint under k of the message index
// row (key, seq): Snapshot.MessageIndexSum adds up the index's.
func IndexRowFingerprint(k LookupKey, key, seq int64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seq))
	return sipWordString(k.K0^lookupIndexKey, k.K1, uint64(key), unsafe.String(&b[0], 8))
}

// SubjectFingerprint is a fingerprint under k of e's subject, its kind,
// conversation and message ids (verify's supersedes rule keeps it, not
// the strings): SipHash of each in turn, each call taking the one
// before's output as its word, under keys of its own.
func SubjectFingerprint(k LookupKey, e *leaf.Entry) uint64 {
	h := sipWordString(k.K0^lookupSubjectKey, k.K1, 0, e.Kind)
	h = sipWordString(k.K0^lookupSubjectKey+1, k.K1, h, e.ConversationID)
	return sipWordString(k.K0^lookupSubjectKey+2, k.K1, h, e.MessageID)
}

// sipWordString is SipHash-2-4 of le64(w) || s under (k0, k1), as
// lookupSip computes it in C.
func sipWordString(k0, k1, w uint64, s string) uint64 {
	v0, v1 := 0x736f6d6570736575^k0, 0x646f72616e646f6d^k1
	v2, v3 := 0x6c7967656e657261^k0, 0x7465646279746573^k1
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	v3 ^= w
	round()
	round()
	v0 ^= w
	n := len(s)
	for len(s) >= 8 {
		m := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		v3 ^= m
		round()
		round()
		v0 ^= m
		s = s[8:]
	}
	b := uint64(n+8) << 56
	for i := range len(s) {
		b |= uint64(s[i]) << (8 * i)
	}
	v3 ^= b
	round()
	round()
	v0 ^= b
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// sipC is lookupSip, for tests.
func sipC(k0, k1, w uint64, b []byte) uint64 {
	var p *C.uchar
	if len(b) > 0 {
		p = (*C.uchar)(unsafe.Pointer(&b[0]))
	}
	return uint64(C.lookupSip(C.uint64_t(k0), C.uint64_t(k1), C.uint64_t(w), p, C.size_t(len(b))))
}
