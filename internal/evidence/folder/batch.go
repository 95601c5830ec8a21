package folder

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// batchSyncs is how many fsyncs PutBatch has in flight at once: issued
// together, a journaling file system commits them in fewer journal
// writes than one after another.
const batchSyncs = 8

// PutBatch stores every object of data (evidence.Batcher) with the
// guarantee Put gives each, for fewer and overlapping fsyncs: every new
// object is written to a temporary file in its final directory, all the
// files are fsynced (concurrently), then each is hard-linked into place,
// then each directory that received a link is fsynced once — where Put
// syncs a file and then its directory per object. An object already
// stored, or repeated in data, costs no fsync (Ref.Existed).
func (f *folder) PutBatch(ctx context.Context, data [][]byte) ([]evidence.Ref, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evidence: put: %w", err)
	}
	refs := make([]evidence.Ref, len(data))
	type pending struct {
		i        int
		fh       *os.File
		tmp, dst string
		key      string
	}
	var todo []*pending
	defer func() {
		for _, p := range todo {
			p.fh.Close()     // no-op error once closed below
			os.Remove(p.tmp) // after a link both names are the same inode
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
		dst := f.path(key)
		existed, err := f.checkExisting(dst, sum)
		if err != nil {
			return nil, wrapPut(key, err)
		}
		if existed {
			refs[i].Existed = true
			continue
		}
		dir := filepath.Dir(dst)
		if err := f.mkdirs(dir); err != nil {
			return nil, wrapPut(key, err)
		}
		fh, err := os.CreateTemp(dir, tmpPrefix+"*")
		if err != nil {
			return nil, wrapPut(key, err)
		}
		p := &pending{i: i, fh: fh, tmp: fh.Name(), dst: dst, key: key}
		todo = append(todo, p)
		if _, err := fh.Write(d); err != nil {
			return nil, wrapPut(key, err)
		}
		if err := fh.Chmod(0o444); err != nil {
			return nil, wrapPut(key, err)
		}
	}
	// Every file's bytes are durable before any name points at them.
	var g errgroup.Group
	g.SetLimit(batchSyncs)
	for _, p := range todo {
		g.Go(func() error {
			if err := syncFile(p.fh); err != nil {
				return wrapPut(p.key, err)
			}
			return wrapPut(p.key, p.fh.Close())
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, p := range todo {
		if err := os.Link(p.tmp, p.dst); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, wrapPut(p.key, err)
			}
			// Stored concurrently, or someone else wrote there: as Put.
			existed, err := f.checkExisting(p.dst, refs[p.i].Sum)
			if err != nil {
				return nil, wrapPut(p.key, err)
			}
			refs[p.i].Existed = existed
			continue
		}
		dirs[filepath.Dir(p.dst)] = true
	}
	for dir := range dirs {
		g.Go(func() error { return wrapPut(dir, syncDir(dir)) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, i := range dups {
		refs[i].Existed = true
	}
	return refs, nil
}
