//go:build linux

package folder

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// linkNew gives the written file tmp its name dst, failing with an error
// wrapping fs.ErrExist if dst exists, as a link does: an object is never
// replaced. It renames tmp without replacing (renameat2
// RENAME_NOREPLACE), which leaves no temporary name to remove afterwards
// (moved: one system call and one directory entry fewer an object), and
// links where the file system has no such rename (NFS, some FUSE file
// systems: remembered for the store). A crash before the batch's last
// sync may lose a renamed name, as it may a linked one; the batch has
// not reported the object stored then.
func (f *folder) linkNew(tmp, dst string) (moved bool, err error) {
	if !f.noRename.Load() {
		err := fsinfo.IgnoringEINTR(func() error {
			return unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
		})
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
			f.noRename.Store(true)
		default:
			return false, &os.LinkError{Op: "rename", Old: tmp, New: dst, Err: err}
		}
	}
	return false, os.Link(tmp, dst)
}
