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
// byte shard) in one pass over its raw entries (fsinfo.ReadDirents): the
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
	err = fsinfo.ReadDirents(fd, path, func(name []byte, mode fs.FileMode, known bool) error {
		var sum hashchain.Hash
		if !known { // DT_UNKNOWN: some file systems do not say
			fi, err := os.Lstat(filepath.Join(path, string(name)))
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone since it was listed: as os.ReadDir does
			}
			if err != nil {
				return err
			}
			mode = fi.Mode().Type()
		}
		if !mode.IsDir() && lowerHex(name, sum[:]) && sum[0] == shard {
			objs = append(objs, sum)
		} else {
			others = append(others, &rawEntry{dir: path, name: string(name), mode: mode})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sortShard(objs, others)
	return objs, others, nil
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
