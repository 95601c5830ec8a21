//go:build !unix

package matter

import "os"

// tryLock: where flock(2) does not exist the lock file records the holder
// but does not exclude a second writer.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }
