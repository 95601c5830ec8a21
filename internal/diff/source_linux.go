//go:build linux

package diff

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux walk does what walkRoot does with a third of the system
// calls. Through an os.Root every folder costs an openat and an fstat,
// then a second *os.File to list it (four fcntl and a failing epoll_ctl);
// every listed name an fstatat (ReadDir on a file opened in a Root stats
// each name rather than trust its d_type); every file four fcntl and an
// epoll_ctl on top of its openat. Here a folder is one
// openat(O_DIRECTORY|O_NOFOLLOW) below its parent, read with getdents64,
// whose d_type says what each name is; a file is one openat(O_NOFOLLOW)
// below its folder, read with read(2). O_NOFOLLOW keeps the Root's
// guarantee: nothing is reached through a symbolic link, not even one
// swapped in after the listing.

// Where linux_dirent64's fields are.
const (
	direntReclen = int(unsafe.Offsetof(unix.Dirent{}.Reclen))
	direntType   = int(unsafe.Offsetof(unix.Dirent{}.Type))
	direntName   = int(unsafe.Offsetof(unix.Dirent{}.Name))
)

// fastWalker is one walk's state; its buffers are reused.
type fastWalker struct {
	ctx    context.Context
	fn     func(Entry) error
	dir    string   // the source folder as given, for error texts
	dents  []byte   // getdents64 buffer
	levels [][]dent // listing buffers, one per folder depth
}

// dent is one listed name.
type dent struct {
	key  string      // the full relative name; a folder's ends in "/"
	name string      // the name alone (part of key)
	typ  fs.FileMode // type bits, as fs.DirEntry.Type gives them
}

func (d *DirSource) walkFast(ctx context.Context, fn func(Entry) error) (bool, error) {
	top, err := d.root.Open(".")
	if err != nil {
		return true, fmt.Errorf("diff: walk %s: %w", d.dir, err)
	}
	defer top.Close()
	rc, err := top.SyscallConn()
	if err != nil {
		return false, nil
	}
	w := &fastWalker{ctx: ctx, fn: fn, dir: d.dir, dents: make([]byte, 8192)}
	var werr error
	if err := rc.Control(func(fd uintptr) { werr = w.walk(int(fd), "", true, 0) }); err != nil {
		return true, fmt.Errorf("diff: walk %s: %w", d.dir, err)
	}
	return true, werr
}

// walk lists the folder open as fd, whose full relative name is rel (""
// at the top; safe: rel needs no quoting in reports), and walks it.
func (w *fastWalker) walk(fd int, rel string, safe bool, depth int) error {
	if depth == len(w.levels) {
		w.levels = append(w.levels, nil)
	}
	ents, err := w.list(fd, rel, w.levels[depth][:0])
	w.levels[depth] = ents
	first := opened{i: -1}
	if err == nil {
		// The keys share rel's prefix, so this is walkRoot's order: a
		// folder sorts as "name/", which puts "a.json" before "a/…", as
		// in S3.
		slices.SortFunc(ents, func(a, b dent) int { return strings.Compare(a.key, b.key) })
		first, err = w.openFirst(fd, rel, ents)
	}
	if err != nil {
		if rel == "" {
			return fmt.Errorf("diff: walk %s: %w", w.dir, err)
		}
		return w.fn(Entry{Name: display(rel, safe), Problem: fmt.Sprintf("cannot list folder: %v", err)})
	}
	defer first.close() // when a walk below ends it early
	for i := range ents {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		de := &ents[i]
		full := strings.TrimSuffix(de.key, "/")
		nameSafe := safe && displaySafe(de.name)
		e := Entry{Name: display(full, nameSafe)}
		switch t := de.typ; {
		case t.IsDir():
			sub, err := first.take(i, fd, de.name, unix.O_DIRECTORY)
			if err != nil {
				e.Problem = fmt.Sprintf("cannot open folder: %v", err)
				break
			}
			err = w.walk(sub, full, nameSafe, depth+1)
			unix.Close(sub)
			if err != nil {
				return err
			}
			continue
		case t&fs.ModeSymlink != 0:
			e.Problem = "symbolic link: not followed"
		case !t.IsRegular():
			e.Problem = fmt.Sprintf("not a regular file (%s)", t)
		default:
			// O_NONBLOCK: a FIFO swapped in since the listing reads as
			// empty rather than blocking the walk; nothing changes for a file.
			f, err := first.take(i, fd, de.name, unix.O_NONBLOCK)
			if err != nil {
				e.Problem = fmt.Sprintf("open failed: %v", err)
				break
			}
			e.file = &fdFile{fd: f, dir: w.dir, name: full}
		}
		if err := w.fn(e); err != nil {
			e.release()
			return err
		}
	}
	clear(ents) // drop the names
	return nil
}

// opened is the entry openFirst opened ahead of its turn.
type opened struct {
	i   int // its index; -1 for none
	fd  int
	err error
}

// take returns the descriptor of entry i: the one opened ahead, or a new one.
func (o *opened) take(i, dirfd int, name string, flags int) (int, error) {
	if i != o.i {
		return openat(dirfd, name, flags)
	}
	o.i = -1
	return o.fd, o.err
}

func (o *opened) close() {
	if o.i >= 0 && o.err == nil {
		unix.Close(o.fd)
	}
}

// openFirst opens the first entry that needs opening, ahead of its turn,
// to catch the failures of walkRoot's listing that getdents64 does not
// show: walkRoot lists a folder by opening its "." (which needs search
// permission), and its ReadDir stats every name. When that first open
// fails (or nothing needs opening), "." is opened and the names are
// stat'ed as walkRoot would; an error is then the folder's.
func openFirst(fd int, ents []dent) opened {
	i := slices.IndexFunc(ents, func(e dent) bool { return e.typ.IsDir() || e.typ.IsRegular() })
	if i < 0 {
		return opened{i: -1}
	}
	flags := unix.O_NONBLOCK
	if ents[i].typ.IsDir() {
		flags = unix.O_DIRECTORY
	}
	f, err := openat(fd, ents[i].name, flags)
	return opened{i: i, fd: f, err: err}
}

func (w *fastWalker) openFirst(fd int, rel string, ents []dent) (opened, error) {
	first := openFirst(fd, ents)
	if len(ents) == 0 || (first.i >= 0 && first.err == nil) {
		return first, nil
	}
	dot, err := openat(fd, ".", 0)
	if err != nil {
		return opened{i: -1}, err
	}
	unix.Close(dot)
	for _, e := range ents {
		var st unix.Stat_t
		if err := fstatatNoFollow(fd, e.name, &st); err != nil && !errors.Is(err, unix.ENOENT) {
			return opened{i: -1}, &os.PathError{Op: "fstatat", Path: w.dirName(rel), Err: err}
		}
	}
	return first, nil
}

// dirName is the name os.Root gives the folder rel's "." file.
func (w *fastWalker) dirName(rel string) string {
	name := w.dir
	if rel != "" {
		name = joinName(name, rel)
	}
	return joinName(name, ".")
}

func joinName(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// list appends the names of the folder open as fd to ents: every name but
// "." and "..", with its full relative name under rel and its type.
func (w *fastWalker) list(fd int, rel string, ents []dent) ([]dent, error) {
	for {
		n, err := getdents(fd, w.dents)
		if err != nil {
			return ents, &os.PathError{Op: "readdirent", Path: w.dirName(rel), Err: err}
		}
		if n <= 0 {
			return ents, nil
		}
		buf := w.dents[:n]
		for len(buf) > direntName {
			reclen := int(binary.NativeEndian.Uint16(buf[direntReclen:]))
			if reclen <= direntName || reclen > len(buf) {
				return ents, &os.PathError{Op: "readdirent", Path: w.dirName(rel), Err: unix.EINVAL}
			}
			rec := buf[:reclen]
			buf = buf[reclen:]
			name := rec[direntName:]
			if i := indexNUL(name); i >= 0 {
				name = name[:i]
			}
			if string(name) == "." || string(name) == ".." {
				continue
			}
			typ, known := dtType(rec[direntType])
			if !known {
				// No d_type from this file system: stat, as ReadDir does.
				var st unix.Stat_t
				if err := fstatatNoFollow(fd, string(name), &st); err != nil {
					if errors.Is(err, unix.ENOENT) {
						continue
					}
					return ents, &os.PathError{Op: "fstatat", Path: w.dirName(rel), Err: err}
				}
				typ = statType(st.Mode)
			}
			key := entryKey(rel, name, typ.IsDir())
			start := len(key) - len(name)
			if typ.IsDir() {
				start--
			}
			ents = append(ents, dent{key: key, name: key[start : start+len(name)], typ: typ})
		}
	}
}

// entryKey is rel/name, with a "/" after a folder's name: one allocation
// for the entry's key, its name and its Entry.Name.
func entryKey(rel string, name []byte, dir bool) string {
	var b strings.Builder
	b.Grow(len(rel) + 1 + len(name) + 1)
	if rel != "" {
		b.WriteString(rel)
		b.WriteByte('/')
	}
	b.Write(name)
	if dir {
		b.WriteByte('/')
	}
	return b.String()
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// dtType maps a d_type to the type bits fs.DirEntry.Type reports.
func dtType(t byte) (fs.FileMode, bool) {
	switch t {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}

// statType maps st_mode to type bits as os.Lstat does.
func statType(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// displaySafe says whether safeDisplay leaves a name as it is.
func displaySafe(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			return safeDisplay(name) == name
		}
	}
	return true
}

// display is safeDisplay(name), without the scan when name is a join of
// names already found safe.
func display(name string, safe bool) string {
	if safe {
		return name
	}
	return safeDisplay(name)
}

// fdFile is a file opened by the walk: a bare descriptor read with
// read(2), with no poller registration and no finalizer. Whoever holds
// the Entry closes it (Open's caller, or Entry.release); closing twice is
// harmless.
type fdFile struct {
	fd   int
	dir  string // the source folder and
	name string // the file's relative name, for error texts as *os.File gives them
}

func (f *fdFile) Read(p []byte) (int, error) {
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: joinName(f.dir, f.name), Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: joinName(f.dir, f.name), Err: err}
	}
	return nil
}

// openat opens name below dirfd for reading, never through a symbolic
// link; the error reads as os.Root's.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|flags, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "openat", Path: name, Err: err}
		}
		return fd, nil
	}
}

func fstatatNoFollow(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}
