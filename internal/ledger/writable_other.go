//go:build !unix

package ledger

// writable assumes a ledger can be written where access(2) does not
// exist; SQLite reports otherwise when it tries.
func writable(string) bool { return true }

// unwritable cannot tell where access(2) does not exist: a read-only
// open then reads with SQLite's locks (mode=ro), which is always safe.
func unwritable(string) bool { return false }
