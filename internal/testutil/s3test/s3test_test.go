package s3test_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/testutil/s3test"
)

func TestStartPutGet(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Client(t)
	bucket := srv.Bucket(t, false)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("a/b"), Body: bytes.NewReader([]byte("hello")),
	}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b")})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer out.Body.Close()
	got, _ := io.ReadAll(out.Body)
	if string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
}

func TestSharedAndStopped(t *testing.T) {
	var (
		mu       sync.Mutex
		endpoint string
	)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := s3test.Start(t)
				mu.Lock()
				if endpoint == "" {
					endpoint = srv.Endpoint
				}
				if srv.Endpoint != endpoint {
					t.Errorf("parallel tests got different servers: %s and %s", srv.Endpoint, endpoint)
				}
				mu.Unlock()
				_ = srv.Bucket(t, name == "a") // distinct names, no clash
			})
		}
	})
	// Both users are done: the server must be gone.
	resp, err := http.Get(endpoint + "/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("server at %s still answers after its last test ended", endpoint)
	}
}
