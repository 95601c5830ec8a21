package hashchain

import "errors"

// Sentinel errors. Callers match them with errors.Is; every error returned by
// this package that falls in one of these classes wraps the sentinel, with
// context added in front.
var (
	// ErrMalformed means a checkpoint body, signed note or other encoded
	// input does not have the exact syntax this package produces and
	// accepts. Nothing about its authenticity has been decided.
	ErrMalformed = errors.New("malformed input")

	// ErrBadSignature means a signed note is well-formed but carries no
	// valid signature by the expected key: it was signed by another key, or
	// its text was changed after signing.
	ErrBadSignature = errors.New("bad signature")

	// ErrBadKey means a signer or verifier key string cannot be parsed, or
	// its name does not fit the checkpoint (the key name must equal the
	// checkpoint origin).
	ErrBadKey = errors.New("bad key")

	// ErrProof means an inclusion or consistency proof does not verify
	// against the given roots and sizes (including proofs of the wrong
	// length and impossible indices or sizes).
	ErrProof = errors.New("proof does not verify")

	// ErrInvalidJSON means the input to RFC 8785 canonicalization is not
	// I-JSON: syntax errors, invalid UTF-8, lone surrogates, duplicate
	// object keys, or numbers outside the IEEE 754 double range.
	ErrInvalidJSON = errors.New("invalid json")
)
