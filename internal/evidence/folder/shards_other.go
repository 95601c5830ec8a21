//go:build !unix

package folder

// shardDirs: see shards_unix.go; elsewhere GetInto is not offered.
type shardDirs struct{}

func (*shardDirs) close() {}
