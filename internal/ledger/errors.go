package ledger

import "errors"

// Sentinel errors. Every error this package returns that falls in one of
// these classes wraps the sentinel (match with errors.Is), with the
// operation and details in front.
var (
	// ErrNotExist means the ledger file does not exist. Only Create makes
	// one; every other entry point refuses to.
	ErrNotExist = errors.New("no such ledger")

	// ErrExists means Create found a file already at the path.
	ErrExists = errors.New("ledger already exists")

	// ErrNotLedger means the file is not a custody ledger: not SQLite, not
	// in WAL mode, or without custody's application id.
	ErrNotLedger = errors.New("not a custody ledger")

	// ErrCorrupt means SQLite reports the file damaged (malformed pages,
	// truncation). Nothing is written to it.
	ErrCorrupt = errors.New("ledger file is damaged")

	// ErrNewerSchema means the ledger was written by a newer custody with a
	// schema version this one does not know. Nothing is changed.
	ErrNewerSchema = errors.New("ledger schema is newer than this custody")

	// ErrInvalidEntry means Append was given an entry that breaks the
	// format rules of docs/ledger-format.md. Nothing of the batch is
	// appended.
	ErrInvalidEntry = errors.New("invalid entry")

	// ErrNotFound means the requested entry, run or checkpoint does not
	// exist.
	ErrNotFound = errors.New("not found")

	// ErrNotCovered means no stored checkpoint covers the entry a proof
	// was asked for; sign one first (custody checkpoint).
	ErrNotCovered = errors.New("no checkpoint covers the entry")

	// ErrWrongKey means a signer key does not belong to this ledger: its
	// name is not the ledger's origin, or its signatures do not verify
	// with the ledger's verifier key.
	ErrWrongKey = errors.New("key does not belong to this ledger")

	// ErrNoVerifierKey means verification needs a verifier key (there are
	// checkpoints to check) and none was given.
	ErrNoVerifierKey = errors.New("no verifier key")

	// ErrInconsistent means the ledger's stored data contradicts itself
	// (a leaf that does not hash to its stored hash, a broken chain, a
	// checkpoint whose root no longer matches): custody refuses to sign or
	// prove on top of it. Run custody verify (internal/verify) for the full list.
	ErrInconsistent = errors.New("ledger is inconsistent")

	// ErrReadOnly means the ledger file cannot be written (see Open), so
	// it was opened for reading only.
	ErrReadOnly = errors.New("ledger is read-only")

	// ErrReservedKey means SetState was asked to change a key custody owns
	// (ledger_id, origin, matter, created_at, verifier_key).
	ErrReservedKey = errors.New("reserved state key")
)
