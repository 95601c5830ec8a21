package bench

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// Evict drops the cached contents of the files at paths from the page
// cache (posix_fadvise POSIX_FADV_DONTNEED, after a sync so that none of
// their pages is dirty), as an auditor's first verification of a copy
// finds them; no privilege is needed, unlike /proc/sys/vm/drop_caches.
// Directories and inodes stay cached. A file that does not exist is
// passed over (a ledger's WAL comes and goes); on tmpfs nothing can be
// evicted.
func Evict(paths []string) error {
	unix.Sync()
	for _, p := range paths {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bench: evict %s: %w", p, &fs.PathError{Op: "open", Path: p, Err: err})
		}
		err = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("bench: evict %s: %w", p, err)
		}
	}
	return nil
}
