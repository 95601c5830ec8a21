package produce_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// BenchmarkProduceS3 produces 2,000 messages (200 conversations of 10,
// the fixture of BenchmarkProduceRSMF) as RSMF from an evidence store on
// S3 (versitygw): on loopback, and with every request held 20 ms (a
// remote region: s3test.DelayedClient) with the workers produce takes for
// the store (16: its Parallelism, at most maxWorkers) and with 4, what it
// took before the store said how many. Each op is one production; the
// names give the store's figure.
//
//	go test ./internal/produce -run '^$' -bench ProduceS3 -benchtime 3x
func BenchmarkProduceS3(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	l, local, key := fixture(b, dir, 200, 10)
	defer l.Close()
	defer local.Close()
	srv := s3test.Start(b)
	bucket := srv.Bucket(b, false)
	fast := srv.Client(b)
	to, err := s3store.Open(ctx, "s3://"+bucket+"/ev", s3store.Options{Client: fast}, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	storetest.CopyAll(b, local, to)
	cases := []struct {
		rtt time.Duration
		n   int // requests in flight the store asks for; 0: its own
	}{{0, 0}, {20 * time.Millisecond, 0}, {20 * time.Millisecond, 4}}
	i := 0
	for _, c := range cases {
		client := srv.DelayedClient(b, c.rtt)
		st, err := s3store.Open(ctx, "s3://"+bucket+"/ev", s3store.Options{Client: client}, evidence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := c.n
		if n == 0 {
			n = evidence.Parallelism(st)
		}
		b.Run(fmt.Sprintf("rtt=%v/in-flight=%d", c.rtt, n), func(b *testing.B) {
			var res *produce.Result
			for b.Loop() {
				i++
				out := filepath.Join(dir, fmt.Sprintf("out%d", i))
				res, err = produce.Run(ctx, produce.Deps{Ledger: l, Store: storetest.WithParallelism(st, n)}, produce.Options{
					Out: out, Format: produce.FormatRSMF, SignerKey: key, VerifierKey: l.VerifierKey()})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(out)
				b.StartTimer()
			}
			if res.Messages != 2000 {
				b.Fatalf("produced %d messages", res.Messages)
			}
			b.ReportMetric(float64(res.Messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
