package folder_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
)

func BenchmarkFolderPut(b *testing.B) {
	s, err := folder.Open(b.TempDir(), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchPut(b, s)
}

// thousandObjects opens a store in a temporary folder holding 1,000
// distinct objects of 4 KiB, and returns their addresses; it is closed
// when b ends.
func thousandObjects(b *testing.B) (evidence.Store, []hashchain.Hash) {
	s, err := folder.Open(b.TempDir(), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	data := make([]byte, 4096)
	var sums []hashchain.Hash
	for i := range 1000 {
		binary.BigEndian.PutUint64(data, uint64(i))
		ref, err := s.Put(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	return s, sums
}

func BenchmarkFolderVerify1000(b *testing.B) {
	ctx := context.Background()
	s, sums := thousandObjects(b)
	for b.Loop() {
		r, err := evidence.Verify(ctx, s, evidence.Sums(sums), evidence.VerifyOptions{})
		if err != nil || !r.OK() {
			b.Fatal(err)
		}
	}
}

// BenchmarkFolderPutBatch stores conversations of 3 objects of 4 KiB,
// one Put each (put) or one PutBatch per batch of conversations
// (batch=N), side by side in one run; b.N counts objects.
func BenchmarkFolderPutBatch(b *testing.B) {
	for _, convs := range []int{0, 1, 16} {
		name := "put"
		if convs > 0 {
			name = fmt.Sprintf("batch=%d", convs)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := folder.Open(b.TempDir(), evidence.Options{})
			if err != nil {
				b.Fatal(err)
			}
			n := 3 * max(convs, 1)
			batch := make([][]byte, n)
			for i := range batch {
				batch[i] = make([]byte, 4096)
			}
			b.SetBytes(4096)
			for done := 0; done < b.N; done += n {
				for i := range batch {
					binary.BigEndian.PutUint64(batch[i], uint64(done+i))
				}
				if convs == 0 {
					for _, d := range batch {
						if _, err := s.Put(ctx, d); err != nil {
							b.Fatal(err)
						}
					}
				} else if _, err := evidence.PutAll(ctx, s, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFolderStored looks up objects the store holds already, as a
// rerun's batches and set-evidence do: a PutBatch of 48 of them (3
// objects of 4 KiB for each of 16 conversations; each hashed to confirm
// it), Exists of one, and Exists of one it lacks (in a shard it holds);
// b.N counts objects.
func BenchmarkFolderStored(b *testing.B) {
	ctx := context.Background()
	s, err := folder.Open(b.TempDir(), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := make([][]byte, 48)
	var sums []hashchain.Hash
	for i := range batch {
		batch[i] = make([]byte, 4096)
		binary.BigEndian.PutUint64(batch[i], uint64(i))
	}
	refs, err := evidence.PutAll(ctx, s, batch)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range refs {
		sums = append(sums, r.Sum)
	}
	b.Run("putbatch", func(b *testing.B) {
		b.SetBytes(4096)
		for done := 0; done < b.N; done += len(batch) {
			refs, err := evidence.PutAll(ctx, s, batch)
			if err != nil || !refs[0].Existed {
				b.Fatal(err)
			}
		}
	})
	b.Run("exists", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if ok, err := s.Exists(ctx, sums[i%len(sums)]); err != nil || !ok {
				b.Fatal(err)
			}
		}
	})
	b.Run("absent", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			sum := sums[i%len(sums)]
			sum[31]++
			if ok, err := s.Exists(ctx, sum); err != nil || ok {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFolderGetIntoParallel reads 1,000 objects of 4 KiB with
// GetInto on every core at once, each goroutine through the whole set
// from its own offset, as verify's workers read through the kept shard
// descriptors; b.N counts objects.
func BenchmarkFolderGetIntoParallel(b *testing.B) {
	ctx := context.Background()
	s, sums := thousandObjects(b)
	gi := s.(evidence.GetIntoer)
	var next atomic.Int64
	b.SetBytes(4096)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(97))
		var buf []byte
		for pb.Next() {
			var err error
			if buf, err = gi.GetInto(ctx, sums[i%len(sums)], buf); err != nil || len(buf) != 4096 {
				b.Fatal(err)
			}
			i++
		}
	})
}
