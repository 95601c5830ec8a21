package export_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
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
