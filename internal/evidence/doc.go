// Package evidence is the contract of custody's evidence stores: the raw
// evidence behind the ledger, the exact bytes of every HTTP response custody
// captured, content-addressed by their SHA-256 under
// sha256/<first 2 hex>/<64 hex>. docs/evidence.md describes the layout.
//
// It owns the Store interface, the address layout (Key, ParseKey), side-file
// names (ValidName), the options every backend honours (Options), Verify,
// the ReadOnly wrapper, and the Registry that chooses a Backend by the
// scheme of a location. The backends themselves live in packages of their
// own — internal/evidence/folder (file://, plain paths) and
// internal/evidence/s3store (s3://) — listed in one table in
// internal/evidence/backends; each imports this package, never the other
// way round. internal/evidence/storetest is the conformance suite every
// backend passes.
//
// Evidence is written before the ledger entry that names it, so a crash in
// between leaves only unreferenced evidence; Verify reports it, together
// with referenced evidence that is missing or no longer hashes to its
// address. It re-hashes unreferenced evidence too: an object is named only
// once its bytes are durable, so one that does not hash to its address is
// damage, never a crash's leftover. Survey and Files name everything else
// a store holds, for verify to say what it is. Writes are idempotent:
// storing bytes that are already present succeeds, and finding different
// bytes at an address fails with ErrCorrupt instead of silently replacing
// them.
//
// The package knows nothing about the ledger (callers pass the sums the
// ledger references) or about HTTP.
package evidence
