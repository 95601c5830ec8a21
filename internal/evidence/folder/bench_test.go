package folder_test

import (
	"context"
	"encoding/binary"
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
