package s3util_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// sdkNoise is what the SDK's own error text carries and custody's must not.
var sdkNoise = regexp.MustCompile(`operation error|https? response error|RequestID|HostID|api error`)

// checkExplained: err is an *s3util.Error whose text is one clean line
// and whose hint names what to set.
func checkExplained(t *testing.T, err error, wantMsg, wantHint string) {
	t.Helper()
	var e *s3util.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T %v: not explained", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, wantMsg) || sdkNoise.MatchString(msg) || strings.Contains(msg, "\n") {
		t.Errorf("message %q: want %q, one line, no SDK wrapping", msg, wantMsg)
	}
	if !strings.Contains(e.Hint(), wantHint) {
		t.Errorf("hint %q lacks %q", e.Hint(), wantHint)
	}
}

// TestExplainAgainstServer: the failures a newcomer meets, from a real
// S3-compatible server, each explained with the flag or variable to set.
func TestExplainAgainstServer(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.Bucket(t, false)

	t.Run("wrong secret", func(t *testing.T) {
		cfg := srv.Config()
		cfg.SecretKey = "not-the-secret"
		c, err := s3util.NewClient(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s3util.ReadObject(ctx, c, bucket, "k", 10)
		checkExplained(t, err, "GetObject: ", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		if strings.Contains(err.Error(), "not-the-secret") {
			t.Error("the secret is in the message")
		}
	})
	t.Run("unknown key id", func(t *testing.T) {
		cfg := srv.Config()
		cfg.AccessKey = "AKIDNOBODY"
		c, err := s3util.NewClient(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = s3util.List(ctx, c, bucket, "", func(types.Object) error { return nil })
		checkExplained(t, err, "ListObjectsV2: ", "AWS_PROFILE (or --s3-profile)")
	})
	t.Run("no such bucket", func(t *testing.T) {
		c := srv.Client(t)
		_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket-here")})
		checkExplained(t, s3util.Explain(err), "HeadBucket: NoSuchBucket", "bucket name in the s3:// location")
		_, err = s3util.ReadObject(ctx, c, "no-such-bucket-here", "k", 10)
		checkExplained(t, err, "NoSuchBucket", "--s3-endpoint and --s3-region")
	})
	t.Run("missing object stays not-exist", func(t *testing.T) {
		_, err := s3util.ReadObject(ctx, srv.Client(t), bucket, "nope", 10)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
		var e *s3util.Error
		if errors.As(err, &e) && e.Hint() != "" {
			t.Errorf("a missing object is not a configuration problem: hint %q", e.Hint())
		}
	})
}

func TestExplainWithoutServer(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	c, err := s3util.NewClient(ctx, s3util.Config{Endpoint: "http://" + dead, AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s3util.ReadObject(ctx, c, "b", "k", 10)
	checkExplained(t, err, "cannot reach the S3 endpoint "+dead, "--s3-endpoint")

	_, err = s3util.NewClient(ctx, s3util.Config{Profile: "custody-test-no-such-profile", Region: "eu-west-1"})
	checkExplained(t, err, "load AWS configuration", "--s3-profile (or AWS_PROFILE)")

	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	_, err = s3util.NewClient(ctx, s3util.Config{AccessKey: "a", SecretKey: "b"})
	checkExplained(t, err, "no region", "--s3-region or AWS_REGION")

	if got := s3util.Explain(context.Canceled); got != context.Canceled {
		t.Errorf("Explain(context.Canceled) = %v", got)
	}
	plain := errors.New("custody's own")
	if got := s3util.Explain(plain); got != plain {
		t.Errorf("Explain changed a non-SDK error: %v", got)
	}
}
