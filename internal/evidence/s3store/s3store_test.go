package s3store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

func openS3(t *testing.T, srv *s3test.Server, location string, opts evidence.Options) evidence.Store {
	t.Helper()
	s, err := s3store.Open(context.Background(), location, s3store.Options{Client: srv.Client(t)}, opts)
	if err != nil {
		t.Fatalf("open %s: %v", location, err)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Client(t)
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, opts evidence.Options) evidence.Store {
			// A prefix, to check it is honoured everywhere.
			return openS3(t, srv, "s3://"+srv.Bucket(t, false)+"/matters/m-1", opts)
		},
		Tamper: func(t *testing.T, s evidence.Store, sum hashchain.Hash, data []byte) {
			bucket, prefix, err := s3util.ParseURL(s.URL())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(bucket),
				Key:    aws.String(s3util.Join(prefix, evidence.Key(sum))),
				Body:   bytes.NewReader(data),
			})
			if err != nil {
				t.Fatalf("tamper: %v", err)
			}
		},
		Plant: func(t *testing.T, s evidence.Store, name string, data []byte) {
			bucket, prefix, err := s3util.ParseURL(s.URL())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(bucket),
				Key:    aws.String(s3util.Join(prefix, name)),
				Body:   bytes.NewReader(data),
			})
			if err != nil {
				t.Fatalf("plant %s: %v", name, err)
			}
		},
	})
}

func TestS3Layout(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	bucket := srv.Bucket(t, false)
	s := openS3(t, srv, "s3://"+bucket+"/p/q/", evidence.Options{})
	if got, want := s.URL(), "s3://"+bucket+"/p/q"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	// Readers of many objects keep as many GETs in flight as the client
	// keeps connections open (verify --evidence, the diff's openings).
	if got := evidence.Parallelism(evidence.ReadOnly(s)); got != s3util.DefaultRequests || got < 8 {
		t.Errorf("Parallelism = %d, want s3util.DefaultRequests (%d)", got, s3util.DefaultRequests)
	}
	// --s3-requests sets the figure; a negative one is refused at open.
	few, err := s3store.Open(ctx, "s3://"+bucket+"/p", s3store.Options{Client: c, Requests: 8}, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := evidence.Parallelism(few); got != 8 {
		t.Errorf("with Requests 8: Parallelism = %d", got)
	}
	if _, err := s3store.Open(ctx, "s3://"+bucket+"/p", s3store.Options{Client: c, Requests: -1}, evidence.Options{}); err == nil {
		t.Error("Requests -1 accepted")
	}
	data := []byte(`{"entities":[]}`)
	ref, err := s.Put(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	hex := ref.Sum.String()
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(bucket),
		Key:          aws.String("p/q/sha256/" + hex[:2] + "/" + hex),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatalf("object not at p/q/sha256/%s/%s: %v", hex[:2], hex, err)
	}
	// The server stored, and checked, our SHA-256 — an independent record
	// of the digest, readable without downloading the object.
	if got, want := aws.ToString(head.ChecksumSHA256), base64.StdEncoding.EncodeToString(ref.Sum[:]); got != want {
		t.Errorf("stored checksum %q, want %q", got, want)
	}
	if err := s.PutFile(ctx, "checkpoints/1.note", []byte("n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("p/q/checkpoints/1.note")}); err != nil {
		t.Errorf("side file not beside the evidence: %v", err)
	}
}

func TestS3OpenErrors(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	plain := srv.Bucket(t, false)

	_, err := s3store.Open(ctx, "s3://no-such-bucket/x", s3store.Options{Client: srv.Client(t)}, evidence.Options{})
	if err == nil {
		t.Error("open of a missing bucket succeeded")
	}
	_, err = s3store.Open(ctx, "s3://"+plain, s3store.Options{Client: srv.Client(t)}, evidence.Options{LegalHold: true})
	if !errors.Is(err, evidence.ErrNoObjectLock) {
		t.Errorf("legal hold on a bucket without object lock: err = %v, want ErrNoObjectLock", err)
	}
	// Without an injected client: endpoint and region from options,
	// credentials from the environment (the AWS default chain).
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	s, err := s3store.Open(ctx, "s3://"+plain+"/env", s3store.Options{Endpoint: srv.Endpoint, Region: srv.Region}, evidence.Options{})
	if err != nil {
		t.Fatalf("open with endpoint option: %v", err)
	}
	if _, err := s.Put(ctx, []byte("via env credentials")); err != nil {
		t.Errorf("put: %v", err)
	}
}

func TestS3LegalHold(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	bucket := srv.Bucket(t, true)
	held := openS3(t, srv, "s3://"+bucket+"/ev", evidence.Options{LegalHold: true})

	data := []byte("a message under legal hold")
	ref, err := held.Put(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	key := aws.String("ev/" + evidence.Key(ref.Sum))
	hold := func(key *string, version *string) types.ObjectLockLegalHoldStatus {
		t.Helper()
		out, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(bucket), Key: key, VersionId: version})
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchObjectLockConfiguration" {
			return "" // never held
		}
		if err != nil {
			t.Fatalf("get legal hold: %v", err)
		}
		return out.LegalHold.Status
	}
	if got := hold(key, nil); got != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("legal hold = %q, want ON", got)
	}
	if err := held.PutFile(ctx, "checkpoints/1.note", []byte("note")); err != nil {
		t.Fatal(err)
	}
	if got := hold(aws.String("ev/checkpoints/1.note"), nil); got != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("side file legal hold = %q, want ON", got)
	}

	// What versitygw really does with a held object (as AWS does):
	// deleting the version is refused; a plain delete only adds a delete
	// marker, and the held version stays readable.
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	version := head.VersionId
	if aws.ToString(version) == "" {
		t.Fatal("object lock bucket returned no version id")
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: key, VersionId: version})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Errorf("delete of held version: err = %v, want AccessDenied", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: key}); err != nil {
		t.Fatalf("delete (marker): %v", err)
	}
	if ok, err := held.Exists(ctx, ref.Sum); err != nil || ok {
		t.Errorf("after delete marker, exists = %v, %v; want false (current version is the marker)", ok, err)
	}
	r, err := evidence.Verify(ctx, held, evidence.Sums([]hashchain.Hash{ref.Sum}), evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Missing) != 1 {
		t.Errorf("verify after delete marker: missing = %v, want the deleted object", r.Missing)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: key, VersionId: version})
	if err != nil {
		t.Fatalf("held version unreadable after delete marker: %v", err)
	}
	out.Body.Close()

	// An object stored earlier without a hold gets one when a legal-hold
	// store puts the same bytes.
	plain := openS3(t, srv, "s3://"+bucket+"/ev", evidence.Options{})
	later := []byte("captured before the hold was ordered")
	ref2, err := plain.Put(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	key2 := aws.String("ev/" + evidence.Key(ref2.Sum))
	if got := hold(key2, nil); got == types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("plain store put a legal hold")
	}
	ref3, err := held.Put(ctx, later)
	if err != nil || !ref3.Existed {
		t.Fatalf("put existing under hold = %+v, %v", ref3, err)
	}
	if got := hold(key2, nil); got != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("legal hold after re-put = %q, want ON", got)
	}
}

// TestS3DeleteUnderObjectLock: erase on a store whose objects carry an
// Object Lock legal hold deletes nothing and says why (ErrLocked); once
// the hold is lifted (custody release), every version goes.
func TestS3DeleteUnderObjectLock(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	c := srv.Client(t)
	bucket := srv.Bucket(t, true)
	s := openS3(t, srv, "s3://"+bucket+"/held", evidence.Options{LegalHold: true})
	ref, err := s.Put(ctx, []byte("held message +15555550100"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ref.Sum); !errors.Is(err, evidence.ErrLocked) {
		t.Fatalf("delete under legal hold: err = %v, want ErrLocked", err)
	}
	if ok, err := s.Exists(ctx, ref.Sum); err != nil || !ok {
		t.Fatalf("the held object is gone: %v %v", ok, err)
	}
	l, ok := s.(evidence.Locker)
	if !ok {
		t.Fatal("the S3 store is not a Locker")
	}
	if err := l.SetLegalHold(ctx, ref.Sum, false); err != nil {
		t.Fatalf("lift the hold: %v", err)
	}
	if err := s.Delete(ctx, ref.Sum); err != nil {
		t.Fatalf("delete after release: %v", err)
	}
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("held/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions)+len(out.DeleteMarkers) != 0 {
		t.Errorf("versions left after delete: %d versions, %d markers", len(out.Versions), len(out.DeleteMarkers))
	}
	if err := l.SetLegalHold(ctx, ref.Sum, true); err == nil {
		t.Errorf("legal hold on a deleted object succeeded")
	}
}
