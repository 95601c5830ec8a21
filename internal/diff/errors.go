package diff

import "errors"

// Errors callers match with errors.Is.
var (
	// ErrBadPolicy: a policy file is malformed or asks for something
	// this package cannot apply.
	ErrBadPolicy = errors.New("bad policy")
	// ErrBadFormat: an unknown output format was asked for.
	ErrBadFormat = errors.New("bad format")
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
