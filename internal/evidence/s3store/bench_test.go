package s3store_test

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// benchPut stores b.N distinct 4 KiB objects (about a bulk-messages page).
func benchPut(b *testing.B, s evidence.Store) {
	ctx := context.Background()
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(data, uint64(i))
		if _, err := s.Put(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkS3Put(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.Bucket(b, false)
	s, err := s3store.Open(context.Background(), "s3://"+bucket+"/ev", s3store.Options{Client: srv.Client(b)}, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchPut(b, s)
}
