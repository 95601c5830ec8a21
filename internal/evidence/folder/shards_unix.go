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
// (liveShard): told of an object that only a replaced directory holds,
// a write would skip it and the store would lack it.
//
// A lookup holds the descriptor it uses (shardDir.acquire) until its
// system calls on it are made; Close retires each, and it is closed by
// whichever of Close and the last lookup holding it comes last: never
// while a lookup may use its number, which the system would give to the
// next file opened (review-commits5 L3: a lookup racing Close read
// through a number Close had closed, perhaps another file's by then).
// Each shard counts its own holders: parallel readers share no lock.
type shardDirs struct {
	dirs   [256]atomic.Pointer[shardDir] // nil: not open
	closed atomic.Bool                   // set by close: no descriptor is kept after it
}

// shardDir is a kept shard descriptor, with the device and inode of the
// directory it was opened on and the paths liveShard looks at.
type shardDir struct {
	fd       int
	dev, ino uint64
	top, dir string // the store's sha256 folder, and the shard's in it
	// state is twice the number of lookups holding fd, plus one once
	// close has retired it: fd is closed when it is 1 (retired, held by
	// none), by whoever makes it so.
	state atomic.Int64
}

// acquire holds d's descriptor for a lookup, which releases it when done;
// false once close has retired it (the store is closed).
func (d *shardDir) acquire() bool {
	for {
		s := d.state.Load()
		if s&1 != 0 {
			return false
		}
		if d.state.CompareAndSwap(s, s+2) {
			return true
		}
	}
}

// release ends a lookup's hold; the last after close closes fd.
func (d *shardDir) release() {
	if d.state.Add(-2) == 1 {
		unix.Close(d.fd)
	}
}

// retire is close's, once per descriptor: fd is closed now if no lookup
// holds it, else by the last to release it.
func (d *shardDir) retire() {
	if d.state.Add(1) == 1 {
		unix.Close(d.fd)
	}
}

// openObject opens the object of sum (key is evidence.Key(sum)) for
// reading, through its shard's descriptor when it can.
// Its full path is made only when the shard's descriptor cannot serve.
// evidence.ErrClosed once the store is closed.
func (f *folder) openObject(sum hashchain.Hash, key string) (int, error) {
	d, err := f.shardDir(sum[0], key)
	if err != nil {
		return -1, err
	}
	if d != nil {
		fd, err := openIn(d.fd, key)
		d.release()
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
// first byte is shard), opened on first use, and held (the caller
// releases it); nil if it cannot be opened (the full path then decides);
// evidence.ErrClosed once the store is closed.
func (f *folder) shardDir(shard byte, key string) (*shardDir, error) {
	s := &f.shards
	if d := s.dirs[shard].Load(); d != nil {
		if !d.acquire() {
			return nil, evidence.ErrClosed // retired by close
		}
		return d, nil
	}
	if s.closed.Load() {
		return nil, evidence.ErrClosed
	}
	// Opened without a lock: on a share each open is a round trip, and
	// lookups in different shards must not wait for each other's. Two
	// goroutines opening the same shard keep the first descriptor stored.
	// No link followed below the root: an object under a linked shard is
	// not in the store.
	rel := key[:len(evidence.Dir)+3]
	fd, err := f.openRel(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, nil // not created yet, perhaps: try again next time
	}
	var st unix.Stat_t
	if err := fsinfo.IgnoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		unix.Close(fd)
		return nil, nil
	}
	d := &shardDir{fd: fd, dev: uint64(st.Dev), ino: st.Ino, top: f.path(evidence.Dir), dir: f.path(rel)}
	d.state.Store(2) // held by this lookup
	if !s.dirs[shard].CompareAndSwap(nil, d) {
		unix.Close(fd)
		return f.shardDir(shard, key) // another's, stored since (or close's nil: closed)
	}
	// close may have run since the check above, after taking every
	// descriptor stored then: this one is taken back, unless close
	// took it too (and retired it).
	if s.closed.Load() {
		if s.dirs[shard].CompareAndSwap(d, nil) {
			d.retire()
		}
		d.release()
		return nil, evidence.ErrClosed
	}
	return d, nil
}

// liveShard is the kept descriptor of key's shard, held (the caller
// releases it), while it still names the store's shard directory — the
// directory root/sha256/xx is now, sha256 no symbolic link — and nil
// otherwise (the path from the root then decides); evidence.ErrClosed
// once the store is closed. A write and Exists look objects up through
// it: an object found in a directory the store replaced since it was
// opened is not in the store. Two lstats of the path, where a lookup
// from the root opens the root and then the shard.
func (f *folder) liveShard(shard byte, key string) (*shardDir, error) {
	d, err := f.shardDir(shard, key)
	if d == nil {
		return nil, err
	}
	var st unix.Stat_t
	lstat := func(p string) bool {
		err := fsinfo.IgnoringEINTR(func() error { return unix.Lstat(p, &st) })
		return err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	if !lstat(d.top) || !lstat(d.dir) || uint64(st.Dev) != d.dev || st.Ino != d.ino {
		d.release()
		return nil, nil
	}
	return d, nil
}

// stored looks up the object of key (its sum's) as the store holds it now,
// for a write or Exists: its type bits (as lstat), and open, which opens
// it for reading in the same directory. Through the shard's kept
// descriptor while it names the store's shard (liveShard), else by the
// path from the root; evidence.ErrClosed once the store is closed (open
// too: it holds the descriptor again while it opens).
func (f *folder) stored(key string, sum hashchain.Hash) (mode fs.FileMode, open func() (*os.File, error), err error) {
	d, err := f.liveShard(sum[0], key)
	if err != nil {
		return 0, nil, err
	}
	if d != nil {
		defer d.release()
	}
	return f.storedIn(d, key)
}

// storedIn is stored through d, a live descriptor of key's shard the
// caller holds (and releases), or by the path from the root if d is nil.
func (f *folder) storedIn(d *shardDir, key string) (mode fs.FileMode, open func() (*os.File, error), err error) {
	if d != nil {
		var st unix.Stat_t
		err := fsinfo.IgnoringEINTR(func() error { return unix.Fstatat(d.fd, path.Base(key), &st, unix.AT_SYMLINK_NOFOLLOW) })
		switch {
		case err == nil:
			return fsinfo.TypeBits(uint32(st.Mode)), func() (*os.File, error) {
				if !d.acquire() {
					return nil, evidence.ErrClosed
				}
				fd, err := openIn(d.fd, key)
				d.release()
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

// batchShards is one PutBatch's view of the store's shards: each shard
// the batch writes to is checked live once (liveShard: two lstats), not
// once for each of its objects, and a live shard needs no check that its
// directory is there before files are created in it. Two lstats an
// object and a directory lookup for each shard of each batch were a
// quarter of a batch's system calls (docs/benchmarks.md). What a batch
// relies on is what each object's own check relied on: the shard named
// the store's when looked at, before the batch's files are created.
type batchShards struct {
	f    *folder
	live [256]*shardDir // held until release; nil: not live, the path decides
}

// batchShards looks up the shards of keys (their sums') once each, up to
// f.requests at a time; evidence.ErrClosed once the store is closed.
func (f *folder) batchShards(sums []hashchain.Hash) (*batchShards, error) {
	b := &batchShards{f: f}
	var seen [256]bool
	var first []hashchain.Hash // an object of each shard
	for _, sum := range sums {
		if !seen[sum[0]] {
			seen[sum[0]] = true
			first = append(first, sum)
		}
	}
	if err := each(len(first), f.requests, func(k int) error {
		d, err := f.liveShard(first[k][0], evidence.Key(first[k]))
		b.live[first[k][0]] = d
		return err
	}); err != nil {
		b.release()
		return nil, err
	}
	return b, nil
}

// stored is folder.stored through the batch's view of key's shard: by
// the path from the root when the batch found it not live (as stored
// does then), without asking liveShard again for each of its objects.
func (b *batchShards) stored(key string, sum hashchain.Hash) (fs.FileMode, func() (*os.File, error), error) {
	return b.f.storedIn(b.live[sum[0]], key)
}

// isLive reports whether the shard of sum was the store's shard
// directory when the batch looked: it is there, no link.
func (b *batchShards) isLive(sum hashchain.Hash) bool { return b.live[sum[0]] != nil }

// release lets go of the descriptors the batch holds.
func (b *batchShards) release() {
	for i, d := range b.live {
		if d != nil {
			d.release()
			b.live[i] = nil
		}
	}
}

// close retires the shard descriptors opened (each closed once no
// lookup holds it), and keeps any from being stored after it
// (shardDir).
func (s *shardDirs) close() {
	s.closed.Store(true)
	for i := range s.dirs {
		if d := s.dirs[i].Swap(nil); d != nil {
			d.retire()
		}
	}
}
