package exportfile

import "errors"

// Errors callers match with errors.Is.
var (
	// ErrBadSource: the export location is neither a folder nor a valid
	// s3://bucket/prefix.
	ErrBadSource = errors.New("bad export location")
	// ErrBadFormat: a Format names no shape.
	ErrBadFormat = errors.New("bad format")
	// ErrFileTooLarge: a file is bigger than Options.MaxFileSize; it is
	// reported as file_unreadable and not read further.
	ErrFileTooLarge = errors.New("file too large")
	// ErrValueTooLarge: a document holds a value larger than
	// Options.MaxValueBytes; it is reported as file_unreadable at its
	// offset and the file is not read further.
	ErrValueTooLarge = errors.New("JSON value too large")
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}
