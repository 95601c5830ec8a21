package export_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/testutil/s3test"
	"github.com/custodyhq/custody/internal/verify"
)

// TestExportToS3WithLegalHold exports into an S3 evidence store (a real
// versitygw on loopback) with Object Lock legal hold, and checks that the
// objects the ledger references are there, intact and held.
func TestExportToS3WithLegalHold(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t, true)
	e := newEnv(t, 16, "5xx=0.03")
	ctx := context.Background()
	client := srv.Client(t)
	st, err := s3store.Open(ctx, "s3://"+bucket+"/matter-1", s3store.Options{Client: client}, evidence.Options{LegalHold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e.store = st
	acct := e.run(t, mediaScope()) // attachments too: they go to S3 as evidence like the rest
	if !acct.Complete() || acct.MediaDownloaded == 0 {
		t.Fatalf("accounting %+v", acct)
	}
	checkCaptured(t, e)

	held := 0
	err = st.Walk(ctx, func(sum hashchain.Hash) error {
		out, err := client.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{
			Bucket: aws.String(bucket), Key: aws.String("matter-1/" + evidence.Key(sum)),
		})
		if err != nil {
			return err
		}
		if out.LegalHold == nil || out.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
			t.Errorf("object %s: legal hold %+v, want ON", sum, out.LegalHold)
		}
		held++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if held == 0 {
		t.Fatal("no evidence objects in the bucket")
	}
	rep, err := verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
	if err != nil || !rep.OK {
		t.Fatalf("verify --evidence over S3: %v %v", err, rep.Findings)
	}
	t.Logf("%d evidence objects under legal hold", held)
}

// BenchmarkExportToS3 exports a 200-conversation org (no faults, no rate
// limit: storage is what is timed) into an S3 evidence store on the test
// server, with every S3 request held 20 ms (a remote region; see
// s3test.DelayedClient), with the default 8 workers: evidence.PutAll
// keeping the store's Parallelism PUTs in flight (default), and 8, what
// it kept before it asked the store. Each op is a whole export into a new
// ledger and a new prefix; the simulator and ledger setup is not timed.
//
//	go test ./internal/export -run '^$' -bench ExportToS3 -benchtime 3x
func BenchmarkExportToS3(b *testing.B) {
	srv := s3test.Start(b)
	bucket := srv.Bucket(b, false)
	client := srv.DelayedClient(b, 20*time.Millisecond)
	ctx := context.Background()
	for _, n := range []int{0, 8} {
		name := fmt.Sprintf("puts-in-flight=%d", n)
		if n == 0 {
			name = "puts-in-flight=default"
		}
		b.Run(name, func(b *testing.B) {
			var convs, msgs int
			var took time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				e := newEnv(b, 200, "")
				st, err := s3store.Open(ctx, fmt.Sprintf("s3://%s/%s-%d", bucket, name, i), s3store.Options{Client: client}, evidence.Options{})
				if err != nil {
					b.Fatal(err)
				}
				e.store = st
				if n > 0 {
					e.store = storetest.WithParallelism(st, n)
				}
				b.StartTimer()
				t0 := time.Now()
				acct, err := export.Run(ctx, export.Deps{Client: e.client(b), Ledger: e.ledger, Evidence: e.store},
					export.Options{Scope: intervalScope(), SignerKey: e.key})
				took += time.Since(t0)
				if err != nil || !acct.Complete() {
					b.Fatalf("export: %v (accounting %+v)", err, acct)
				}
				convs += acct.Exported
				msgs += acct.MessagesAppended
			}
			b.ReportMetric(float64(convs)/took.Seconds(), "conversations/s")
			b.ReportMetric(float64(msgs)/took.Seconds(), "messages/s")
		})
	}
}
