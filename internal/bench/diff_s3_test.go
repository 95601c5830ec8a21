package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// BenchmarkLedgerDiffS3 is BenchmarkLedgerDiff with both sides in S3: a
// fixture of 5,000 messages (826 files, 384 conversations) has its export
// and its evidence (the openings the diff reads, one per message) copied
// to a bucket on the test server (versitygw), and is diffed as custody
// diff does (reconcile.Diff): on loopback as it is, then with every
// request held 20 ms (a remote region: s3test.DelayedClient) with as
// many requests in flight as the S3 store and source ask for (64), and
// with 16 and 4, the figures of earlier versions. Each op is one diff;
// msgs/s is export messages read.
//
//	go test ./internal/bench -run '^$' -bench LedgerDiffS3 -benchtime 2x
func BenchmarkLedgerDiffS3(b *testing.B) {
	ctx := context.Background()
	f, err := PrepareDiff(ctx, b.TempDir(), DiffConfig{Messages: 5000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv := s3test.Start(b)
	bucket := srv.Bucket(b, false)
	fast := srv.Client(b)
	from, err := backends.Open(ctx, f.Evidence, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer from.Close()
	to, err := s3store.Open(ctx, "s3://"+bucket+"/evidence", s3store.Options{Client: fast}, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	storetest.CopyAll(b, from, to)
	copyExport(b, f.Export, fast, bucket)

	l, err := ledger.Open(ctx, f.Ledger, ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cases := []struct {
		rtt time.Duration
		n   int // requests in flight; 0: the store's and source's own
	}{{0, 0}, {20 * time.Millisecond, 0}, {20 * time.Millisecond, 16}, {20 * time.Millisecond, 4}}
	for _, c := range cases {
		client := srv.DelayedClient(b, c.rtt)
		store, err := s3store.Open(ctx, "s3://"+bucket+"/evidence", s3store.Options{Client: client}, evidence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := c.n
		if n == 0 {
			n = evidence.Parallelism(store)
		}
		b.Run(fmt.Sprintf("rtt=%v/in-flight=%d", c.rtt, n), func(b *testing.B) {
			var sum diff.Summary
			for b.Loop() {
				src := parallelSource{exportfile.NewS3Source(client, bucket, "export"), n}
				w, err := diff.NewWriter(diff.OutputJSONL, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				res, err := reconcile.Diff(ctx, l, storetest.WithParallelism(store, n), src, reconcile.DiffOptions{
					Diff: diff.Options{Policy: diff.DefaultPolicy()}, EmitJSON: w.(diff.JSONWriter).WriteJSON,
				})
				if err != nil {
					b.Fatal(err)
				}
				sum = res.Summary
			}
			if sum.Messages != f.Manifest.MessagesReadable || sum.Captured != f.Captured {
				b.Fatalf("diff read %d messages (export: %d readable), saw %d captured (ledger: %d)",
					sum.Messages, f.Manifest.MessagesReadable, sum.Captured, f.Captured)
			}
			b.ReportMetric(float64(sum.Messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// parallelSource asks for n requests in flight, whatever the S3 source
// it wraps would; every case of the benchmark goes through it (and the
// store through storetest.WithParallelism), so the wrapping costs all
// alike.
type parallelSource struct {
	*exportfile.S3Source
	n int
}

func (s parallelSource) Parallelism() int { return s.n }

// copyExport puts every file under dir in the bucket under export/, at
// its path relative to dir.
func copyExport(tb testing.TB, dir string, c *s3.Client, bucket string) {
	tb.Helper()
	ctx := context.Background()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("export/" + filepath.ToSlash(rel)),
			Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))),
		})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}
