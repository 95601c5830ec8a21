//go:build !linux

package folder

import (
	"io/fs"
	"os"

	"github.com/custodyhq/custody/internal/hashchain"
)

// readShard lists the shard directory at path (sha256/XX, for shard
// byte shard): the objects, appended to objs (a buffer reused shard
// after shard), and every other entry (see sortShard).
func readShard(path string, shard byte, objs []hashchain.Hash) (_ []hashchain.Hash, others []fs.DirEntry, err error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range ents {
		var sum hashchain.Hash
		if !o.IsDir() && lowerHex(o.Name(), sum[:]) && sum[0] == shard {
			objs = append(objs, sum)
		} else {
			others = append(others, o)
		}
	}
	sortShard(objs, others)
	return objs, others, nil
}
