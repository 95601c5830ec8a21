package exportfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// On Linux the walk goes by bare descriptors (fdFolder), with half the
// system calls of an os.Root walk: through a Root, a folder costs an
// openat for the Root and another, with an fstat and its poller set-up,
// to list it, and ReadDir on a file opened in a Root stats every name
// rather than trust the listing's d_type; a file costs its openat, an
// fstat, and an fstatat after the open to see that no symbolic link was
// followed. Here a folder is one openat(O_DIRECTORY|O_NOFOLLOW) below
// its parent, listed with getdents64; a file is one openat(O_NOFOLLOW),
// which refuses a symbolic link outright, and one fstat. The diff of a
// million messages opens 163,284 export files in 82,421 folders
// (docs/benchmarks.md, "the walk by descriptors"). TestWalkKinds holds
// it to rootFolder on a hostile tree.

// top is the export's root as the walk's first folder.
func (d *DirSource) top() (folder, error) {
	if d.portable {
		return d.rootTop()
	}
	dot, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer dot.Close()
	rc, err := dot.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var oerr error
	if err := rc.Control(func(dir uintptr) { fd, oerr = openat(int(dir), ".", unix.O_DIRECTORY) }); err != nil {
		return nil, err
	}
	if oerr != nil {
		return nil, oerr
	}
	return &fdFolder{fd: fd}, nil
}

// fdFolder is a folder open as a descriptor.
type fdFolder struct{ fd int }

func (f *fdFolder) list() ([]dirent, error) {
	// getdents64 needs only read permission; an os.Root lists a folder
	// by opening its "." (and stats every name), which needs search
	// permission too. One fstatat of "." asks for the same, so that a
	// folder that can be read but not searched is one folder that cannot
	// be listed on either walk, not a failed open a file.
	var st unix.Stat_t
	if err := fstatat(f.fd, ".", &st); err != nil {
		return nil, &os.PathError{Op: "openat", Path: ".", Err: err}
	}
	var out []dirent
	err := fsinfo.ReadDirents(f.fd, ".", func(name []byte, typ fs.FileMode, known bool) error {
		if !known {
			// No d_type from this file system: stat, as ReadDir does.
			var st unix.Stat_t
			if err := fstatat(f.fd, string(name), &st); err != nil {
				if err == unix.ENOENT {
					return nil // gone since the listing
				}
				return &os.PathError{Op: "fstatat", Path: string(name), Err: err}
			}
			typ = fsinfo.TypeBits(st.Mode)
		}
		out = append(out, dirent{name: string(name), typ: typ})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fdFolder) sub(name string) (folder, error) {
	fd, err := openat(f.fd, name, unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	return &fdFolder{fd: fd}, nil
}

func (f *fdFolder) open(name string) (io.ReadCloser, string, error) {
	// O_NONBLOCK: a FIFO put there since the listing is not waited on;
	// nothing changes for a regular file.
	fd, err := openat(f.fd, name, unix.O_NONBLOCK)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok && pe.Err == unix.ELOOP {
			return nil, "symbolic link: not followed", nil
		}
		return nil, "", err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, "", &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if t := fsinfo.TypeBits(st.Mode); !t.IsRegular() {
		unix.Close(fd)
		return nil, fmt.Sprintf("not a regular file (%s)", t), nil
	}
	return &fdFile{fd: fd, size: st.Size, name: name}, "", nil
}

func (f *fdFolder) close() { unix.Close(f.fd) }

// fdFile is an export file opened by the walk: a bare descriptor read
// with read(2), with no poller set-up and no finalizer. Whoever holds the
// Entry closes it.
type fdFile struct {
	fd   int
	size int64  // as fstat gave it when opened
	read int64  // bytes read so far
	eof  bool   // a short read reached size: the end, without a read to see it
	name string // for error texts
}

func (f *fdFile) Read(p []byte) (int, error) {
	switch {
	case f.fd < 0:
		return 0, os.ErrClosed
	case len(p) == 0:
		return 0, nil
	case f.eof:
		return 0, io.EOF
	}
	n, err := fsinfo.IgnoringEINTR2(func() (int, error) { return unix.Read(f.fd, p) })
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
	}
	if n <= 0 {
		return 0, io.EOF
	}
	f.read += int64(n)
	// A regular file reads short only at its end; past the size it had
	// when opened, that saves the read that would say so (one system call
	// in five a file). Short before it (a file cut since), the next read
	// decides.
	f.eof = n < len(p) && f.read >= f.size
	return n, nil
}

func (f *fdFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

// openat opens name below dirfd for reading, never through a symbolic
// link; the error reads as os.Root's. It and the calls below retry on
// EINTR, as the os package does.
func openat(dirfd int, name string, flags int) (int, error) {
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|flags, 0)
	})
	if err != nil {
		return -1, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return fd, nil
}

func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	return fsinfo.IgnoringEINTR(func() error { return unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW) })
}

func fstat(fd int, st *unix.Stat_t) error {
	return fsinfo.IgnoringEINTR(func() error { return unix.Fstat(fd, st) })
}
