// Package custody holds the project's root assets: the SQLite schema of
// the ledger, embedded so the binary carries the exact DDL it was built with.
package custody

import _ "embed"

// Schema is the DDL of ledger schema version SchemaVersion (schema.sql).
//
//go:embed schema.sql
var Schema string

// SchemaVersion is stored in PRAGMA user_version; a ledger with a higher
// version was written by a newer custody and is refused, one with a lower
// version is brought up to this one when opened for writing.
const SchemaVersion = 3
