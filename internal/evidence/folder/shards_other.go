//go:build !unix

package folder

import "sync/atomic"

// shardDirs: see shards_unix.go; elsewhere GetInto is not offered, and
// no descriptor is kept: only closed, which the store's operations
// refuse to run after.
type shardDirs struct {
	closed atomic.Bool
}

func (s *shardDirs) close() { s.closed.Store(true) }
