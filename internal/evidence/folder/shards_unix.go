//go:build unix

package folder

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// shardDirs are open descriptors of the store's shard directories
// (sha256/00 … sha256/ff), so that GetInto opens an object by its name
// relative to its shard: one path component for the kernel to look up
// instead of every component of the store's absolute path. A diff opens
// one opening per captured message (a million at a million messages), and
// the path walk was a fifth of each open's cost (docs/benchmarks.md).
//
// A shard is opened on first use and kept until Close. Should the
// directory have been replaced since (an object absent through the kept
// descriptor), the object is opened by its full path as before, so a
// store emptied and refilled under a running process reads what is there
// now; an object is found through a kept descriptor only if it is in a
// directory that was the store's shard when opened.
type shardDirs struct {
	fds [256]atomic.Int32 // descriptor + 1; 0: not open
	mu  sync.Mutex        // held by close
}

// openObject opens the object of sum (key is evidence.Key(sum)) for
// reading, through its shard's descriptor when it can.
// Its full path is made only when the shard's descriptor cannot serve.
func (f *folder) openObject(sum hashchain.Hash, key string) (int, error) {
	if dir := f.shardFD(sum[0], key); dir >= 0 {
		base := key[len(key)-2*hashchain.HashSize:]
		fd, err := fsinfo.IgnoringEINTR2(func() (int, error) { return unix.Openat(dir, base, openFlags|unix.O_CLOEXEC, 0) })
		if err == nil {
			return fd, nil
		}
		// Absent, or any other failure: the path from the root decides,
		// and words the error.
	}
	return f.openRel(key, openFlags)
}

// shardFD is the descriptor of the shard directory of key (whose first
// byte is shard), opened on first use; -1 if it cannot be opened (the
// full path then decides).
func (f *folder) shardFD(shard byte, key string) int {
	if v := f.shards.fds[shard].Load(); v != 0 {
		return int(v - 1)
	}
	// Opened without a lock: on a share each open is a round trip, and
	// lookups in different shards must not wait for each other's. Two
	// goroutines opening the same shard keep the first descriptor stored.
	// No link followed below the root: an object under a linked shard is
	// not in the store.
	fd, err := f.openRel(key[:len(evidence.Dir)+3], unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil || fd < 0 || fd >= 1<<31-1 {
		if err == nil {
			unix.Close(fd)
		}
		return -1 // not created yet, perhaps: try again next time
	}
	if !f.shards.fds[shard].CompareAndSwap(0, int32(fd+1)) {
		unix.Close(fd)
		return int(f.shards.fds[shard].Load() - 1)
	}
	return fd
}

// close closes the shard descriptors opened.
func (s *shardDirs) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.fds {
		if v := s.fds[i].Swap(0); v != 0 {
			unix.Close(int(v - 1))
		}
	}
}
