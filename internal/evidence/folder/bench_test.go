package folder_test

import (
	"context"
	"encoding/binary"
	"fmt"
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

func BenchmarkFolderVerify1000(b *testing.B) {
	ctx := context.Background()
	s, err := folder.Open(b.TempDir(), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	var sums []hashchain.Hash
	for i := range 1000 {
		binary.BigEndian.PutUint64(data, uint64(i))
		ref, err := s.Put(ctx, data)
		if err != nil {
			b.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
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
