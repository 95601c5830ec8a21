//go:build linux

package folder

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// readShard lists the shard directory at path (sha256/XX, for shard
// byte shard) in one pass over its raw entries (getdents64): the
// objects, decoded in place and appended to objs (a buffer reused shard
// after shard), and a DirEntry for each other entry (see sortShard).
// os.ReadDir made two allocations an entry (a DirEntry and its name) and
// sorted names: verify lists every object of a store, and the listing
// was 4 % of verify --evidence's CPU (28 ms a run; 20 ms with this,
// docs/benchmarks.md "twenty-eighth stop"). The directory is opened
// without following a link.
func readShard(path string, shard byte, objs []hashchain.Hash) (_ []hashchain.Hash, others []fs.DirEntry, err error) {
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 32<<10)
	for {
		n, err := fsinfo.IgnoringEINTR2(func() (int, error) { return syscall.ReadDirent(fd, buf) })
		if err != nil {
			return nil, nil, &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			break
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2),
			// d_type (1), d_name (NUL-terminated, padded to reclen).
			if len(b) < 19 {
				return nil, nil, &fs.PathError{Op: "readdirent", Path: path, Err: syscall.EIO}
			}
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				return nil, nil, &fs.PathError{Op: "readdirent", Path: path, Err: syscall.EIO}
			}
			typ, name := b[18], b[19:reclen]
			b = b[reclen:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if string(name) == "." || string(name) == ".." {
				continue
			}
			mode, known := direntMode(typ)
			var sum hashchain.Hash
			if known && !mode.IsDir() && lowerHex(name, sum[:]) && sum[0] == shard {
				objs = append(objs, sum)
				continue
			}
			e := &rawEntry{dir: path, name: string(name), mode: mode}
			if !known { // DT_UNKNOWN: some file systems do not say
				fi, err := os.Lstat(filepath.Join(path, e.name))
				if errors.Is(err, fs.ErrNotExist) {
					continue // gone since it was listed: as os.ReadDir does
				}
				if err != nil {
					return nil, nil, err
				}
				e.mode = fi.Mode().Type()
				if !e.mode.IsDir() && lowerHex(name, sum[:]) && sum[0] == shard {
					objs = append(objs, sum)
					continue
				}
			}
			others = append(others, e)
		}
	}
	sortShard(objs, others)
	return objs, others, nil
}

// direntMode is d_type as an fs.FileMode type; false for DT_UNKNOWN.
func direntMode(typ byte) (fs.FileMode, bool) {
	switch typ {
	case syscall.DT_REG:
		return 0, true
	case syscall.DT_DIR:
		return fs.ModeDir, true
	case syscall.DT_LNK:
		return fs.ModeSymlink, true
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe, true
	case syscall.DT_SOCK:
		return fs.ModeSocket, true
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case syscall.DT_BLK:
		return fs.ModeDevice, true
	}
	return fs.ModeIrregular, false
}

// rawEntry is an fs.DirEntry from a raw directory entry's name and type.
type rawEntry struct {
	dir, name string
	mode      fs.FileMode
}

func (e *rawEntry) Name() string               { return e.name }
func (e *rawEntry) IsDir() bool                { return e.mode.IsDir() }
func (e *rawEntry) Type() fs.FileMode          { return e.mode }
func (e *rawEntry) Info() (fs.FileInfo, error) { return os.Lstat(filepath.Join(e.dir, e.name)) }
