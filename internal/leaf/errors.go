package leaf

import "errors"

// Sentinel errors, matched with errors.Is; the operation and details are
// in front.
var (
	// ErrMalformedProof means a proof file does not have the syntax of
	// docs/ledger-format.md ("Proof files").
	ErrMalformedProof = errors.New("malformed proof file")
)
