package witness

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/hashchain"
)

// The type bytes of signed-note keys: a ledger's checkpoints are signed
// with an Ed25519 note key, a witness cosigns with a cosignature/v1 key.
const (
	keyTypeEd25519       = 0x01
	keyTypeCosignatureV1 = 0x04
)

// NewVerifier reads a witness's verifier key: a C2SP cosignature/v1 key,
// NAME+HASH+base64(0x04 ‖ 32-byte Ed25519 public key), HASH the first 4
// bytes of SHA-256(NAME ‖ "\n" ‖ 0x04 ‖ public key) in 8 hex digits. It
// refuses what transparency-dev/formats, which it parses with, lets
// through: a key of another type (a ledger's key, 0x01, is read there as a
// cosignature key) and a HASH that does not match (formats computes its
// own). The error says what is wrong with the key and never quotes it or
// any part of it: it was read from a file that may hold anything.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, errors.New(hashchain.VerifierKeyProblem(vkey, err))
	}
	// formats read it, so it is NAME+HASH+KEY with HASH 8 characters and
	// KEY base64 of a type byte and a key.
	name, rest, _ := strings.Cut(vkey, "+")
	hash, b64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errors.New(hashchain.VerifierKeyProblem(vkey, err))
	}
	switch key[0] {
	case keyTypeCosignatureV1:
	case keyTypeEd25519:
		return nil, errors.New("its KEY is a signed-note Ed25519 key (type 01), as a ledger's custody.pub is, not a witness's cosignature/v1 key (type 04)")
	default:
		return nil, errors.New("its KEY is not a witness's cosignature/v1 Ed25519 key (type 04)")
	}
	want := sha256.Sum256(append([]byte(name+"\n"), key...))
	got, err := strconv.ParseUint(hash, 16, 32)
	switch {
	case err != nil:
		return nil, errors.New("its HASH is not 8 hex digits")
	case uint32(got) != binary.BigEndian.Uint32(want[:4]):
		return nil, errors.New("its HASH does not match its name and key (SHA-256 of NAME, a newline and KEY): a damaged or edited copy")
	}
	return v, nil
}
