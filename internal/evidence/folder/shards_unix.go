//go:build unix

package folder

import (
	"io/fs"
	"os"
	"path"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// shardDirs are open descriptors of the store's shard directories
// (sha256/00 … sha256/ff), so that GetInto opens an object by its name
// relative to its shard: one path component for the kept descriptor
// instead of every component of the store's absolute path. A diff opens
// one opening per captured message (a million at a million messages), and
// the path walk was a fifth of each open's cost (docs/benchmarks.md).
//
// A shard is opened on first use and kept until Close. Should the
// directory have been replaced since (an object absent through the kept
// descriptor), a read opens the object by its full path as before, so a
// store emptied and refilled under a running process reads what is there
// now; an object is found through a kept descriptor only if it is in a
// directory that was the store's shard when opened. A write, and Exists,
// use the kept descriptor only while it still names the store's shard
// (liveShardFD): told of an object that only a replaced directory holds,
// a write would skip it and the store would lack it.
type shardDirs struct {
	dirs   [256]atomic.Pointer[shardDir] // nil: not open
	closed atomic.Bool                   // set by close: no descriptor is kept after it
}

// shardDir is a kept shard descriptor, with the device and inode of the
// directory it was opened on and the paths liveShardFD looks at.
type shardDir struct {
	fd       int
	dev, ino uint64
	top, dir string // the store's sha256 folder, and the shard's in it
}

// openObject opens the object of sum (key is evidence.Key(sum)) for
// reading, through its shard's descriptor when it can.
// Its full path is made only when the shard's descriptor cannot serve.
func (f *folder) openObject(sum hashchain.Hash, key string) (int, error) {
	if d := f.shardDir(sum[0], key); d != nil {
		fd, err := openIn(d.fd, key)
		if err == nil {
			return fd, nil
		}
		// Absent, or any other failure: the path from the root decides,
		// and words the error.
	}
	return f.openRel(key, openFlags)
}

// openIn opens the object key in the shard directory dir for reading.
func openIn(dir int, key string) (int, error) {
	return fsinfo.IgnoringEINTR2(func() (int, error) { return unix.Openat(dir, path.Base(key), openFlags|unix.O_CLOEXEC, 0) })
}

// shardDir is the kept descriptor of the shard directory of key (whose
// first byte is shard), opened on first use; nil if it cannot be opened
// (the full path then decides) or the store is closed.
func (f *folder) shardDir(shard byte, key string) *shardDir {
	s := &f.shards
	if d := s.dirs[shard].Load(); d != nil {
		return d
	}
	if s.closed.Load() {
		return nil
	}
	// Opened without a lock: on a share each open is a round trip, and
	// lookups in different shards must not wait for each other's. Two
	// goroutines opening the same shard keep the first descriptor stored.
	// No link followed below the root: an object under a linked shard is
	// not in the store.
	rel := key[:len(evidence.Dir)+3]
	fd, err := f.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil // not created yet, perhaps: try again next time
	}
	var st unix.Stat_t
	if err := fsinfo.IgnoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		unix.Close(fd)
		return nil
	}
	d := &shardDir{fd: fd, dev: uint64(st.Dev), ino: st.Ino, top: f.path(evidence.Dir), dir: f.path(rel)}
	if !s.dirs[shard].CompareAndSwap(nil, d) {
		unix.Close(fd)
		return s.dirs[shard].Load() // nil if close took it since
	}
	// close may have run since the check above, after taking every
	// descriptor stored then: this one is taken back, unless close
	// took it too.
	if s.closed.Load() {
		if s.dirs[shard].CompareAndSwap(d, nil) {
			unix.Close(fd)
		}
		return nil
	}
	return d
}

// liveShardFD is the kept descriptor of key's shard while it still names
// the store's shard directory — the directory root/sha256/xx is now,
// sha256 no symbolic link — and -1 otherwise (the path from the root then
// decides). A write and Exists look objects up through it: an object
// found in a directory the store replaced since it was opened is not in
// the store. Two lstats of the path, where a lookup from the root opens
// the root and then the shard.
func (f *folder) liveShardFD(shard byte, key string) int {
	d := f.shardDir(shard, key)
	if d == nil {
		return -1
	}
	var st unix.Stat_t
	lstat := func(p string) bool {
		err := fsinfo.IgnoringEINTR(func() error { return unix.Lstat(p, &st) })
		return err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	if !lstat(d.top) || !lstat(d.dir) || uint64(st.Dev) != d.dev || st.Ino != d.ino {
		return -1
	}
	return d.fd
}

// stored looks up the object of key (its sum's) as the store holds it now,
// for a write or Exists: its type bits (as lstat), and open, which opens
// it for reading in the same directory. Through the shard's kept
// descriptor while it names the store's shard (liveShardFD), else by the
// path from the root.
func (f *folder) stored(key string, sum hashchain.Hash) (mode fs.FileMode, open func() (*os.File, error), err error) {
	if dir := f.liveShardFD(sum[0], key); dir >= 0 {
		var st unix.Stat_t
		err := fsinfo.IgnoringEINTR(func() error { return unix.Fstatat(dir, path.Base(key), &st, unix.AT_SYMLINK_NOFOLLOW) })
		switch {
		case err == nil:
			return fsinfo.TypeBits(uint32(st.Mode)), func() (*os.File, error) {
				fd, err := openIn(dir, key)
				if err != nil {
					return nil, &fs.PathError{Op: "open", Path: f.path(key), Err: err}
				}
				return os.NewFile(uintptr(fd), f.path(key)), nil
			}, nil
		case err == unix.ENOENT:
			return 0, nil, &fs.PathError{Op: "lstat", Path: f.path(key), Err: err}
		}
		// Any other failure: the path from the root words it.
	}
	mode, err = f.lstat(key)
	return mode, func() (*os.File, error) { return f.openRead(key, nil) }, err
}

// close closes the shard descriptors opened, and keeps any from being
// stored after it (shardDir).
func (s *shardDirs) close() {
	s.closed.Store(true)
	for i := range s.dirs {
		if d := s.dirs[i].Swap(nil); d != nil {
			unix.Close(d.fd)
		}
	}
}
