package s3store_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
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

// BenchmarkS3Verify re-hashes 2,000 small objects (openings' size) on the
// test S3 server (versitygw on loopback) through evidence.Verify, with
// the default workers — at least the store's Parallelism — and with
// 4, the default before the store said how many reads to keep in flight;
// on loopback as it is, and with every request held 20 ms before it is
// sent (a round trip to a remote region; this machine cannot delay
// loopback in the kernel):
//
//	go test ./internal/evidence/s3store -run '^$' -bench S3Verify -count 3
func BenchmarkS3Verify(b *testing.B) {
	srv := s3test.Start(b)
	ctx := context.Background()
	bucket := srv.Bucket(b, false)
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		c := srv.DelayedClient(b, rtt)
		s, err := s3store.Open(ctx, "s3://"+bucket+"/bench", s3store.Options{Client: c}, evidence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var data [][]byte
		for i := range 2000 {
			data = append(data, fmt.Appendf(nil, `{"fields":{"content_sha256":"%064d"},"n":%d}`, i, i))
		}
		refs, err := evidence.PutAll(ctx, s, data)
		if err != nil {
			b.Fatal(err)
		}
		var sums []hashchain.Hash
		for _, r := range refs {
			sums = append(sums, r.Sum)
		}
		for _, workers := range []int{0, 4} {
			name := fmt.Sprintf("rtt=%v/workers=default(%d)", rtt, max(4, runtime.GOMAXPROCS(0), evidence.Parallelism(s)))
			if workers > 0 {
				name = fmt.Sprintf("rtt=%v/workers=%d", rtt, workers)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					rep, err := evidence.Verify(ctx, evidence.ReadOnly(s), evidence.Sums(sums), evidence.VerifyOptions{Concurrency: workers})
					if err != nil || !rep.OK() {
						b.Fatalf("verify: %v %+v", err, rep)
					}
				}
				b.ReportMetric(float64(len(sums)*b.N)/b.Elapsed().Seconds(), "objects/s")
			})
		}
	}
}

// BenchmarkS3PutAll stores 500 new small objects (openings' size) in one
// evidence.PutAll, as export's grouper stores a batch, on the test S3
// server: with the store's Parallelism PUTs in flight (default) and with
// 8, what PutAll kept in flight before it asked the store; on loopback
// and with every request held 20 ms (see BenchmarkS3Verify):
//
//	go test ./internal/evidence/s3store -run '^$' -bench S3PutAll -count 3
func BenchmarkS3PutAll(b *testing.B) {
	srv := s3test.Start(b)
	ctx := context.Background()
	bucket := srv.Bucket(b, false)
	round := 0
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond} {
		c := srv.DelayedClient(b, rtt)
		s, err := s3store.Open(ctx, "s3://"+bucket+"/put", s3store.Options{Client: c}, evidence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		// The client's connections opened before either is timed.
		var warm [][]byte
		for i := range 2 * evidence.Parallelism(s) {
			warm = append(warm, fmt.Appendf(nil, "warm-up %v %d", rtt, i))
		}
		if _, err := evidence.PutAll(ctx, s, warm); err != nil {
			b.Fatal(err)
		}
		for _, st := range []evidence.Store{s, storetest.WithParallelism(s, 8)} {
			b.Run(fmt.Sprintf("rtt=%v/in-flight=%d", rtt, evidence.Parallelism(st)), func(b *testing.B) {
				for b.Loop() {
					round++
					var data [][]byte
					for i := range 500 {
						data = append(data, fmt.Appendf(nil, `{"fields":{"content_sha256":"%064d"},"n":%d,"round":%d}`, i, i, round))
					}
					if _, err := evidence.PutAll(ctx, st, data); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "objects/s")
			})
		}
	}
}
