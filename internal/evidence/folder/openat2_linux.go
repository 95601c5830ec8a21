package folder

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// noOpenat2 is set once openat2 is found missing (ENOSYS: before Linux
// 5.6).
var noOpenat2 atomic.Bool

// openat2Beneath opens name below dirfd with openat2, refusing any
// symbolic link and any name leading out of dirfd. It fails with
// errUndecided when openat2 cannot decide, and walkBeneath must: it is
// missing, a seccomp filter of an older container runtime refuses it
// (EPERM), or a rename happened during the lookup (EAGAIN).
func openat2Beneath(dirfd int, name string, flags int) (int, error) {
	if noOpenat2.Load() {
		return -1, errUndecided
	}
	how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS}
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) { return unix.Openat2(dirfd, name, &how) })
	switch err {
	case unix.ENOSYS:
		noOpenat2.Store(true)
		return -1, errUndecided
	case unix.EPERM, unix.EAGAIN:
		return -1, errUndecided
	}
	return fd, err
}
