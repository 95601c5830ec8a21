//go:build !linux

package bench

import "errors"

// Evict needs posix_fadvise, which this system's custody does not use.
func Evict(paths []string) error {
	return errors.New("bench: evicting files from the page cache (--cold) needs Linux")
}
