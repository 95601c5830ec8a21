//go:build unix

package ledger

import (
	"path/filepath"
	"syscall"
)

// writable reports whether this process may write path and create files
// beside it (SQLite's -wal and -shm).
func writable(path string) bool {
	const wOK = 0x2
	return syscall.Access(path, wOK) == nil && syscall.Access(filepath.Dir(path), wOK) == nil
}
