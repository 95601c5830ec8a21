package s3store_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

func BenchmarkS3Put(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.Bucket(b, false)
	s, err := s3store.Open(context.Background(), "s3://"+bucket+"/ev", s3store.Options{Client: srv.Client(b)}, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchPut(b, s)
}
