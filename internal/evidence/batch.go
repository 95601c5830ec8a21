package evidence

import (
	"context"
	"crypto/sha256"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/hashchain"
)

// Batcher is implemented by stores that can make several objects durable
// together more cheaply than one Put each: a folder syncs every file of
// the batch before linking any into place, then each directory the
// batch touched once, where Put syncs a file and its directory per
// object. It is optional, beside the Store contract: PutAll uses it when
// a store has it (S3 has no fsync to save, and does not).
type Batcher interface {
	// PutBatch stores each of data as Put would and returns, when all of
	// them are durable, refs[i] for data[i]. On an error some objects may
	// be stored and durable, others not, as after a Put that failed: the
	// caller refers to none of them.
	PutBatch(ctx context.Context, data [][]byte) ([]Ref, error)
}

// putAllParallel is the least number of Puts PutAll has in flight for a
// store that is not a Batcher: each waits on its own round trip or
// fsync. A store that says how many requests to keep in flight
// (Parallel: S3) gets that many if it is more.
const putAllParallel = 8

// PutAll stores every object of data and returns when all are durable,
// refs[i] for data[i]: through s's PutBatch when it is a Batcher, else
// one Put each, several at once (at least putAllParallel, and the
// store's Parallelism if more). An object repeated in data is put once,
// at its first place, and its repeats say Existed, as a Batcher's do
// (Puts side by side would race over which one found it stored). On an
// error, as for PutBatch, the caller refers to none of them.
func PutAll(ctx context.Context, s Store, data [][]byte) ([]Ref, error) {
	if b, ok := s.(Batcher); ok {
		return b.PutBatch(ctx, data)
	}
	refs := make([]Ref, len(data))
	first := make(map[hashchain.Hash]int, len(data))
	var repeats [][2]int // {place, its first place}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(putAllParallel, Parallelism(s)))
	for i, d := range data {
		sum := hashchain.Hash(sha256.Sum256(d))
		if j, ok := first[sum]; ok {
			repeats = append(repeats, [2]int{i, j})
			continue
		}
		first[sum] = i
		g.Go(func() error {
			ref, err := s.Put(gctx, d)
			refs[i] = ref
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range repeats {
		ref := refs[r[1]]
		ref.Existed = true
		refs[r[0]] = ref
	}
	return refs, nil
}
