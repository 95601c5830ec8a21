//go:build linux

package folder

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// syncfsReportsErrors is whether this kernel's syncfs(2) returns the
// writeback errors of the file system: only from Linux 5.8 on (before,
// it returned 0 whatever failed, so a batch could not know its data was
// lost, and per-file fsync is used instead).
var syncfsReportsErrors = sync.OnceValue(func() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
})

// kernelAtLeast reports whether release ("6.1.0-18-amd64") is at least
// major.minor; a release it cannot read is not.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	num := func(s string) (int, bool) {
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(s[:end])
		return n, err == nil
	}
	ma, ok1 := num(parts[0])
	mi, ok2 := num(parts[1])
	if !ok1 || !ok2 {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// syncfsTypes are the file systems whose syncfs(2) makes every file and
// directory entry written before it durable, as fsync of each would (a
// journal commit and a cache flush): ext2/3/4, XFS, Btrfs, F2FS, and
// tmpfs (nothing to make durable, as for its fsync). Anything else —
// overlayfs, FUSE, network file systems, whose sync_fs may not reach the
// storage the way their fsync does — keeps per-file fsync.
var syncfsTypes = map[int64]bool{
	0xEF53:     true, // ext2/3/4
	0x58465342: true, // XFS
	0x9123683E: true, // Btrfs
	0xF2F52010: true, // F2FS
	0x01021994: true, // tmpfs
}

// openSyncfs opens dir for syncfs(2), when this kernel and dir's file
// system allow a batch to be made durable that way; nil (and no error)
// means per-file fsync. It must be called before the batch's files are
// written: syncfs reports a writeback error only to a descriptor opened
// before the error happened (the file system's errseq is sampled at
// open), so a descriptor opened afterwards could miss the loss of the
// very bytes it was meant to make durable.
func openSyncfs(dir string) (*os.File, error) {
	if !syncfsReportsErrors() || !useSyncfs {
		return nil, nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := fstatfs(d, &st); err != nil {
		d.Close()
		return nil, err
	}
	if !syncfsTypes[int64(st.Type)] {
		d.Close()
		return nil, nil
	}
	return d, nil
}

func fstatfs(d *os.File, st *unix.Statfs_t) error {
	return onFD(d, func(fd int) error { return unix.Fstatfs(fd, st) })
}

// onFD runs call on d's descriptor, again while a signal interrupts it.
func onFD(d *os.File, call func(fd int) error) error {
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = fsinfo.IgnoringEINTR(func() error { return call(int(fd)) })
	}); err != nil {
		return err
	}
	return serr
}

// sameFileSystem reports whether f is on the file system whose device
// is rootDev (deviceOf the store's root): a syncfs through root makes
// durable only what is on its own file system (a shard directory that is
// a mount point of another would not be).
var sameFileSystem = func(rootDev uint64, f *os.File) (bool, error) {
	dev, err := deviceOf(f)
	return err == nil && dev == rootDev, err
}

// deviceOf is the device of the file system f is on; PutBatch takes the
// root's once a batch, not once a file.
func deviceOf(f *os.File) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("stat %s: no device", f.Name())
	}
	return uint64(st.Dev), nil
}

// syncfsFile is syncfs(2) on d's file system; tests count and fail it.
var syncfsFile = func(d *os.File) error {
	return onFD(d, unix.Syncfs)
}
