// Package erase is custody erase, hold and release: it deletes the
// evidence and openings of erased conversations and messages (refusing
// under legal hold without an override, and under S3 Object Lock), places
// and lifts matter holds (with S3 Object Lock legal hold when the store
// has it), and appends the signed erasure and hold entries. What those
// entries say is read back through internal/erasure.
package erase
