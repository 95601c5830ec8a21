package folder

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// batchSyncs is how many fsyncs PutBatch has in flight at once when it
// syncs file by file: issued together, a journaling file system commits
// them in fewer journal writes than one after another (on a network
// share, the store's Parallelism if more).
const batchSyncs = 8

// batchWriters is how many files PutBatch creates, writes and links at
// once on a local disk; on a network share, the store's Parallelism if
// more (each of those steps is a round trip there).
const batchWriters = 4

// syncfsMin is the fewest new objects for which PutBatch makes a batch
// durable with syncfs(2) rather than file by file: a syncfs also writes
// back whatever else is dirty on the file system, which for one or two
// objects can cost more than their own fsyncs. useSyncfs turns syncfs
// off (tests of the per-file path).
var (
	syncfsMin = 4
	useSyncfs = true
)

// PutBatch stores every object of data (evidence.Batcher) with the
// guarantee Put gives each — no name points at bytes that are not
// durable, and every name is durable on return — for far fewer syncs:
// every new object is written to a temporary file in its final
// directory, all of them are made durable, then each is given its name —
// renamed without replacing (linkNew), or hard-linked where the file
// system cannot — then the names are made durable. On Linux (5.8 on, where
// syncfs(2) reports writeback errors) on a local file system, each of
// the two steps is one syncfs of the store's file system, through a
// descriptor opened before the first byte is written so that it sees any
// writeback error of the batch; elsewhere, or for a batch of fewer than
// syncfsMin new objects, the files are fsynced (concurrently), then each
// directory that received a link once. An object already stored, or
// repeated in data, costs no sync (Ref.Existed).
func (f *folder) PutBatch(ctx context.Context, data [][]byte) ([]evidence.Ref, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: put: %w", err)
	}
	refs := make([]evidence.Ref, len(data))
	type pending struct {
		i        int
		fh       *os.File
		tmp, dst string
		key      string
		moved    bool // tmp renamed to dst: no name to remove
	}
	var todo []*pending
	defer func() {
		for _, p := range todo {
			if p.fh != nil {
				p.fh.Close() // no-op error once closed below
				if !p.moved {
					os.Remove(p.tmp) // after a link both names are the same inode
				}
			}
		}
	}()
	first := map[hashchain.Hash]int{}
	var dups []int
	for i, d := range data {
		if int64(len(d)) > f.maxSize {
			return nil, fmt.Errorf("evidence: put: %w: %d bytes, limit %d", evidence.ErrTooLarge, len(d), f.maxSize)
		}
		sum := hashchain.Hash(sha256.Sum256(d))
		refs[i] = evidence.Ref{Sum: sum, Size: int64(len(d))}
		if _, ok := first[sum]; ok {
			dups = append(dups, i)
			continue
		}
		first[sum] = i
		key := evidence.Key(sum)
		todo = append(todo, &pending{i: i, dst: f.path(key), key: key})
	}
	// Whether each is stored already: one lookup each, several at once on
	// a share, where each is a round trip; each shard is checked once.
	sums := make([]hashchain.Hash, len(todo))
	for k, p := range todo {
		sums[k] = refs[p.i].Sum
	}
	shards, err := f.batchShards(sums)
	if err != nil {
		todo = nil // nothing opened yet
		return nil, fmt.Errorf("evidence: put: %w", err)
	}
	defer shards.release()
	existed := make([]bool, len(todo))
	if err := each(len(todo), f.requests, func(k int) error {
		var err error
		existed[k], err = f.checkStored(todo[k].key, sums[k], shards.stored)
		return wrapPut(todo[k].key, err)
	}); err != nil {
		todo = nil // nothing opened yet
		return nil, err
	}
	kept := todo[:0]
	for k, p := range todo {
		if existed[k] {
			refs[p.i].Existed = true
			continue
		}
		kept = append(kept, p)
	}
	todo = kept
	if len(todo) == 0 {
		for _, i := range dups {
			refs[i].Existed = true
		}
		return refs, nil
	}
	// Opened before any byte is written: see openSyncfs.
	var root *os.File
	if len(todo) >= syncfsMin {
		if err := f.mkdirs(f.root); err != nil {
			return nil, wrapPut(f.root, err)
		}
		var err error
		if root, err = openSyncfs(f.root); err != nil {
			return nil, wrapPut(f.root, err)
		}
		if root != nil {
			defer root.Close()
		}
	}
	// With syncfs, a directory created here is made durable by the
	// batch's first syncfs, before any name in it is linked; without
	// (or should a file turn out to be on another file system), its
	// parent is fsynced before the links.
	var unsynced []string
	made := map[string]bool{}
	for _, p := range todo {
		if made[filepath.Dir(p.dst)] {
			continue
		}
		made[filepath.Dir(p.dst)] = true
		if shards.isLive(refs[p.i].Sum) {
			continue // there, the store's shard: as dirThere would find
		}
		var err error
		if root != nil {
			err = f.mkdirsSync(filepath.Dir(p.dst), &unsynced)
		} else {
			err = f.mkdirs(filepath.Dir(p.dst))
		}
		if err != nil {
			return nil, wrapPut(p.key, err)
		}
	}
	// The files are created and written by a few goroutines at once: it
	// is mostly kernel work (allocating inodes, directory entries) that
	// one goroutine would do on one core while the batch's conversations
	// wait on it.
	var otherFS atomic.Bool
	var rootDev uint64
	if root != nil {
		var err error
		if rootDev, err = deviceOf(root); err != nil {
			return nil, wrapPut(f.root, err)
		}
	}
	if err := each(len(todo), max(batchWriters, f.requests), func(k int) error {
		p := todo[k]
		fh, err := os.CreateTemp(filepath.Dir(p.dst), tmpPrefix+"*")
		if err != nil {
			return wrapPut(p.key, err)
		}
		p.fh, p.tmp = fh, fh.Name()
		if _, err := fh.Write(data[p.i]); err != nil {
			return wrapPut(p.key, err)
		}
		if err := fh.Chmod(0o444); err != nil {
			return wrapPut(p.key, err)
		}
		if root != nil {
			same, err := sameFileSystem(rootDev, fh)
			if err != nil {
				return wrapPut(p.key, err)
			}
			if !same {
				otherFS.Store(true)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if root != nil && otherFS.Load() {
		root.Close()
		root = nil
	}
	// Every file's bytes are durable before any name points at them.
	var g errgroup.Group
	g.SetLimit(max(batchSyncs, f.requests))
	if root != nil {
		for _, p := range todo {
			if err := p.fh.Close(); err != nil {
				return nil, wrapPut(p.key, err)
			}
		}
		if err := syncfsFile(root); err != nil {
			return nil, wrapPut(f.root, fmt.Errorf("syncfs: %w", err))
		}
	} else {
		for _, p := range todo {
			g.Go(func() error {
				if err := syncFile(p.fh); err != nil {
					return wrapPut(p.key, err)
				}
				return wrapPut(p.key, p.fh.Close())
			})
		}
		for _, dir := range unsynced {
			g.Go(func() error { return wrapPut(dir, syncDir(dir)) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	// Linked by a few goroutines at once too, for the same reason.
	linked := make([]bool, len(todo))
	if err := each(len(todo), max(batchWriters, f.requests), func(k int) error {
		p := todo[k]
		var err error
		if p.moved, err = f.linkNew(p.tmp, p.dst); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return wrapPut(p.key, err)
			}
			// Stored concurrently, or someone else wrote there: as Put.
			existed, err := f.checkExisting(p.key, refs[p.i].Sum)
			if err != nil {
				return wrapPut(p.key, err)
			}
			refs[p.i].Existed = existed
			return nil
		}
		linked[k] = true
		return nil
	}); err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for k, p := range todo {
		if linked[k] {
			dirs[filepath.Dir(p.dst)] = true
		}
	}
	if root != nil {
		// The same descriptor: a writeback error since the first syncfs
		// is reported here too.
		if len(dirs) > 0 {
			if err := syncfsFile(root); err != nil {
				return nil, wrapPut(f.root, fmt.Errorf("syncfs: %w", err))
			}
		}
	} else {
		for dir := range dirs {
			g.Go(func() error { return wrapPut(dir, syncDir(dir)) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	for _, i := range dups {
		refs[i].Existed = true
	}
	return refs, nil
}
