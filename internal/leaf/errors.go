package leaf

import "errors"

// Sentinel errors, matched with errors.Is; the operation and details are
// in front.
var (
	// ErrMalformedProof means a proof file does not have the syntax of
	// docs/ledger-format.md ("Proof files").
	ErrMalformedProof = errors.New("malformed proof file")

	// The reasons CheckLeaf refuses a leaf, in the order it checks them
	// (docs/ledger-format.md, "Strict leaves"). Each makes a ledger
	// invalid: custody never writes such a leaf, so one in a ledger was
	// put there by someone else.

	// ErrNotIJSON means the leaf is not I-JSON (RFC 7493): not JSON, not
	// valid UTF-8, a string with a lone surrogate escape, or a number of
	// magnitude 2^53 or more.
	ErrNotIJSON = errors.New("leaf is not I-JSON")
	// ErrDuplicateMember means an object in the leaf, at any depth, names
	// a member twice (parsers disagree on which one counts).
	ErrDuplicateMember = errors.New("leaf has a duplicate member")
	// ErrNotCanonical means the leaf's bytes are not the RFC 8785
	// canonical form of its value.
	ErrNotCanonical = errors.New("leaf is not in RFC 8785 canonical form")
	// ErrNotEntry means the leaf is canonical I-JSON but not a custody
	// entry object: an unknown or missing member, a member of the wrong
	// type, or a value the format does not allow.
	ErrNotEntry = errors.New("leaf is not a custody entry")
)
