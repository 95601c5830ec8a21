package hashchain

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/gowebpki/jcs"
)

// Canonicalize returns the RFC 8785 (JCS) form of jsonBytes: no insignificant
// whitespace, object members sorted by their UTF-16 code units, strings with
// minimal escaping, numbers in ECMAScript (ES6) double formatting.
//
// The input must be I-JSON (RFC 7493): it is rejected with ErrInvalidJSON if
// it is not valid JSON, is not valid UTF-8, has a lone or mispaired surrogate
// escape, repeats a key within one object, or has a number outside the
// double range. Numbers are converted to IEEE 754 doubles, so integers beyond
// 2^53 lose precision, exactly as RFC 8785 specifies.
func Canonicalize(jsonBytes []byte) ([]byte, error) {
	// encoding/json's validator is the reference grammar check; jcs then
	// adds the I-JSON rules (duplicates, surrogates, UTF-8, number range).
	// Checking both means a leniency in either parser cannot let a
	// non-JSON input acquire a canonical form.
	if !json.Valid(jsonBytes) {
		return nil, fmt.Errorf("hashchain: canonicalize: %w: not valid json", ErrInvalidJSON)
	}
	out, err := jcs.Transform(jsonBytes)
	if err != nil {
		return nil, fmt.Errorf("hashchain: canonicalize: %w: %w", ErrInvalidJSON, err)
	}
	return out, nil
}

// CanonicalJSON marshals v with encoding/json and canonicalizes the result.
func CanonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("hashchain: canonical json: %w", err)
	}
	return Canonicalize(b)
}

// PayloadHash returns SHA-256 of Canonicalize(jsonBytes): a hash of a JSON
// document that does not depend on key order, whitespace or escaping.
func PayloadHash(jsonBytes []byte) (Hash, error) {
	c, err := Canonicalize(jsonBytes)
	if err != nil {
		return Hash{}, err
	}
	return sha256.Sum256(c), nil
}
