// Package verify checks a matter read-only: the ledger's entries (sequence,
// leaf hashes, hash chain), its stored checkpoints and checkpoints kept
// outside it (signatures, Merkle roots, truncation), and the evidence the
// entries reference (every object re-hashed in the store).
//
// It is shaped like restic's checker: it opens nothing for writing, reads
// the ledger through one read-only snapshot (internal/ledger), the formats
// through internal/leaf and internal/hashchain, and the evidence through
// the evidence.Store interface, and returns a Report. Problems found are
// findings in the report, never errors: an error means verification itself
// could not run (I/O, no or the wrong key, cancellation).
//
// The checks are the ones docs/ledger-format.md specifies, so a verifier
// written from that page alone must agree with this one.
package verify
