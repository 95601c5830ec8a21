//go:build !unix

package folder

import (
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/custodyhq/custody/internal/hashchain"
)

// shardDirs: see shards_unix.go; elsewhere GetInto is not offered, and
// no descriptor is kept: only closed, which the store's operations
// refuse to run after.
type shardDirs struct {
	closed atomic.Bool
}

func (s *shardDirs) close() { s.closed.Store(true) }

// batchShards: see shards_unix.go; here every object is looked up by the
// path from the root, and no shard is known live.
type batchShards struct{ f *folder }

func (f *folder) batchShards([]hashchain.Hash) (*batchShards, error) { return &batchShards{f: f}, nil }

func (b *batchShards) stored(key string, sum hashchain.Hash) (fs.FileMode, func() (*os.File, error), error) {
	return b.f.stored(key, sum)
}

func (b *batchShards) isLive(hashchain.Hash) bool { return false }

func (b *batchShards) release() {}
