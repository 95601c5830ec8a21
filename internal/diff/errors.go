package diff

import "errors"

// Errors callers match with errors.Is.
var (
	// ErrBadPolicy: a policy file is malformed or asks for something
	// this package cannot apply.
	ErrBadPolicy = errors.New("bad policy")
	// ErrBadFormat: an unknown output format was asked for.
	ErrBadFormat = errors.New("bad format")
	// ErrEmptySource: the export holds no file at all (an empty or wrong
	// folder, an S3 prefix with no objects), or no file of it could be
	// read. Run returns it instead of a summary of a "complete" export.
	ErrEmptySource = errors.New("no readable export")
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
