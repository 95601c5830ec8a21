//go:build unix

package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// openBeneath opens name, slash-separated and relative to the directory
// dirfd, with flags, following no symbolic link in any of its components:
// a link anywhere on the way fails the open (ELOOP, or ENOTDIR for a
// folder's place). With openat2 (Linux 5.6 on) that is one system call;
// elsewhere each component is opened in turn with O_NOFOLLOW.
func openBeneath(dirfd int, name string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	if fd, err := openat2Beneath(dirfd, name, flags); err != errUndecided {
		return fd, err
	}
	return walkBeneath(dirfd, name, flags)
}

// errUndecided: openat2Beneath could not open, nor tell that the name may
// not be opened.
var errUndecided = errors.New("openat2 undecided")

// walkBeneath is openBeneath one component at a time.
func walkBeneath(dirfd int, name string, flags int) (int, error) {
	dir := dirfd
	defer func() {
		if dir != dirfd {
			unix.Close(dir)
		}
	}()
	for {
		elem, rest, more := strings.Cut(name, "/")
		if elem == "" || elem == "." || elem == ".." {
			return -1, unix.EXDEV // not below dirfd, as openat2's RESOLVE_BENEATH says
		}
		if !more {
			return fsinfo.IgnoringEINTR2(func() (int, error) { return unix.Openat(dir, elem, flags, 0) })
		}
		fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
			return unix.Openat(dir, elem, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		})
		if err != nil {
			return -1, err
		}
		if dir != dirfd {
			unix.Close(dir)
		}
		dir, name = fd, rest
	}
}

// openRoot opens the store's root folder. It is the user's path: a link
// there is followed (custody verify warns of it).
func (f *folder) openRoot() (int, error) {
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return unix.Open(f.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: f.root, Err: err}
	}
	return fd, nil
}

// openRel opens rel, a store-relative name, with flags, following no
// link below the root.
func (f *folder) openRel(rel string, flags int) (int, error) {
	root, err := f.openRoot()
	if err != nil {
		return -1, err
	}
	defer unix.Close(root)
	fd, err := openBeneath(root, rel, flags)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: f.path(rel), Err: err}
	}
	return fd, nil
}

// openRead opens rel for reading, following no link below the root;
// an object (sum not nil) through its shard's descriptor.
func (f *folder) openRead(rel string, sum *hashchain.Hash) (*os.File, error) {
	var fd int
	var err error
	if sum != nil {
		fd, err = f.openObject(*sum, rel)
	} else {
		fd, err = f.openRel(rel, openFlags)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.path(rel)), nil
}

// lstat returns the type bits of rel (fs.ModeType; 0 for a regular
// file), itself not followed if a link, reached following no link.
func (f *folder) lstat(rel string) (fs.FileMode, error) {
	dir, err := f.openRel(path.Dir(rel), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := fsinfo.IgnoringEINTR(func() error { return unix.Fstatat(dir, path.Base(rel), &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return 0, &fs.PathError{Op: "lstat", Path: f.path(rel), Err: err}
	}
	return fsinfo.TypeBits(uint32(st.Mode)), nil
}

// remove removes the file rel, reached following no link, and with sync
// fsyncs its folder.
func (f *folder) remove(rel string, sync bool) error {
	dir, err := f.openRel(path.Dir(rel), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dir), f.path(path.Dir(rel)))
	defer d.Close()
	if err := fsinfo.IgnoringEINTR(func() error { return unix.Unlinkat(dir, path.Base(rel), 0) }); err != nil {
		return &fs.PathError{Op: "remove", Path: f.path(rel), Err: err}
	}
	if sync {
		if err := syncDirFile(d); err != nil {
			return fmt.Errorf("fsync %s: %w", d.Name(), err)
		}
	}
	return nil
}

// isDir reports, as nil, that the folder rel is there, reached following
// no link.
func (f *folder) isDir(rel string) error {
	fd, err := f.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
