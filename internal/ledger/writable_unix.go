//go:build unix

package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

const wOK = 0x2 // access(2) W_OK

// writable reports whether this process may write path and create files
// beside it (SQLite's -wal and -shm).
func writable(path string) bool {
	return syscall.Access(path, wOK) == nil && syscall.Access(filepath.Dir(path), wOK) == nil
}

// unwritable reports whether nobody custody knows of can write the ledger
// at path: it is on a read-only file system, or the file or its directory
// has no write permission bit at all (chmod a-w; custody opens such a
// ledger read-only even as root, so no custody writer changes it).
func unwritable(path string) bool {
	if err := syscall.Access(path, wOK); errors.Is(err, syscall.EROFS) {
		return true
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().Perm()&0o222 == 0 {
			return true
		}
	}
	return false
}
