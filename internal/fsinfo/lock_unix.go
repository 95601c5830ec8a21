//go:build unix

package fsinfo

import (
	"errors"
	"os"
	"syscall"
)

// TryLock takes an exclusive flock(2) on f without waiting; false if
// another open file holds it. The kernel lets it go when the process
// ends, however it ends, so a lock file left by a dead process never
// blocks.
func TryLock(f *os.File) (bool, error) {
	err := IgnoringEINTR(func() error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) })
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	default:
		return false, err
	}
}

// Unlock lets go of TryLock's lock.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
