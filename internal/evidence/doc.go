// Package evidence stores the raw evidence behind the ledger: the exact
// bytes of every HTTP response custody captured, content-addressed by their
// SHA-256 under sha256/<first 2 hex>/<64 hex>, in a local folder or an S3
// bucket (with SHA-256 checksums, conditional writes and, optionally, an
// Object Lock legal hold on every object). docs/evidence.md describes the
// layout.
//
// Evidence is written before the ledger entry that names it, so a crash in
// between leaves only unreferenced evidence; Verify reports it, together
// with referenced evidence that is missing or no longer hashes to its
// address. Writes are idempotent: storing bytes that are already present
// succeeds, and finding different bytes at an address fails with
// ErrCorrupt instead of silently replacing them.
//
// The package owns the store layout and its integrity checks; it knows
// nothing about the ledger (callers pass the sums the ledger references)
// or about HTTP.
package evidence
