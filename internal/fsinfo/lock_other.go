//go:build !unix

package fsinfo

import "os"

// TryLock: where flock(2) does not exist a lock file does not exclude a
// second holder (the matter's still records who holds it).
func TryLock(*os.File) (bool, error) { return true, nil }

// Unlock does nothing where TryLock does nothing.
func Unlock(*os.File) error { return nil }
