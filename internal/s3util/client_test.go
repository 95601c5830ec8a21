package s3util_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

func TestNewClientConfig(t *testing.T) {
	if _, err := s3util.NewClient(context.Background(), s3util.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a"}); err == nil {
		t.Error("access key without secret key accepted")
	}
	c, err := s3util.NewClient(context.Background(), s3util.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if !o.UsePathStyle || aws.ToString(o.BaseEndpoint) != "http://127.0.0.1:1" || o.Region != s3util.DefaultRegion {
		t.Errorf("options: path style %v, endpoint %q, region %q", o.UsePathStyle, aws.ToString(o.BaseEndpoint), o.Region)
	}
}

// TestNewClientRequests: the client keeps as many connections open as
// requests are to be in flight, 64 unless told; a negative figure is
// refused.
func TestNewClientRequests(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ requests, conns int }{{0, s3util.DefaultRequests}, {8, 8}, {200, 200}} {
		cfg := s3util.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", Requests: tc.requests}
		c, err := s3util.NewClient(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		bc, ok := c.Options().HTTPClient.(*awshttp.BuildableClient)
		if !ok {
			t.Fatalf("HTTP client %T, want the SDK's BuildableClient", c.Options().HTTPClient)
		}
		if got := bc.GetTransport().MaxIdleConnsPerHost; got != tc.conns || cfg.InFlight() != tc.conns {
			t.Errorf("Requests %d: %d idle connections, InFlight %d; want %d", tc.requests, got, cfg.InFlight(), tc.conns)
		}
	}
	if _, err := s3util.NewClient(ctx, s3util.Config{Endpoint: "http://127.0.0.1:1", Requests: -1}); err == nil || !strings.Contains(err.Error(), "requests in flight") {
		t.Errorf("Requests -1: %v, want a refusal", err)
	}
}

// TestRetriesSlowDown: a request S3 answers 503 SlowDown three times in a
// row is sent a fourth time and succeeds, for 64 objects read at once (the SDK's default, three attempts and a retry quota, gave up:
// one such answer ended a verify).
func TestRetriesSlowDown(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.Bucket(t, false)
	plain := srv.Client(t)
	for i := range 64 {
		key := fmt.Sprintf("k/%d", i)
		if _, err := plain.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
			t.Fatal(err)
		}
	}
	defer s3util.SetMaxBackoff(10 * time.Millisecond)()
	var slowed atomic.Int64
	c := srv.SlowDownClient(t, 3, &slowed)
	var g errgroup.Group
	for i := range 64 {
		g.Go(func() error {
			key := fmt.Sprintf("k/%d", i)
			b, err := s3util.ReadObject(ctx, c, bucket, key, 1<<10)
			if err == nil && string(b) != key {
				err = fmt.Errorf("%s holds %q", key, b)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := slowed.Load(); got != 64*3 {
		t.Errorf("%d SlowDown answers, want %d (three for each request)", got, 64*3)
	}
}

// failing answers every request with err, or when err is nil with S3's
// 503 SlowDown, and counts the requests.
type failing struct {
	err  error
	sent atomic.Int64
}

func (f *failing) RoundTrip(r *http.Request) (*http.Response, error) {
	f.sent.Add(1)
	if f.err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, f.err
	}
	return s3test.SlowDownResponse(r), nil
}

// TestRetryAttempts: a request S3 keeps answering SlowDown is sent
// MaxAttempts times; one that cannot connect (a wrong endpoint) three
// times, as the SDK's default, so that the mistake is told at once.
func TestRetryAttempts(t *testing.T) {
	defer s3util.SetMaxBackoff(time.Millisecond)()
	t.Setenv("AWS_CA_BUNDLE", "")
	ctx := context.Background()
	for name, tc := range map[string]struct {
		err  error
		want int64
	}{
		"slow down":          {nil, s3util.MaxAttempts},
		"connection refused": {&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, 3},
	} {
		f := &failing{err: tc.err}
		c, err := s3util.NewClient(ctx, s3util.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", HTTPClient: &http.Client{Transport: f}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")})
		if err == nil || f.sent.Load() != tc.want {
			t.Errorf("%s: sent %d times, want %d (err %v)", name, f.sent.Load(), tc.want, err)
		}
	}
}

// cutting lets the first cuts GET answers of each key through only
// partly: their body fails with a reset connection after half of what
// is left. It records the Range of every GET.
type cutting struct {
	base   http.RoundTripper
	cuts   int
	mu     sync.Mutex
	seen   map[string]int
	ranges []string
}

func (c *cutting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || r.URL.Query().Has("list-type") {
		return resp, err
	}
	c.mu.Lock()
	n := c.seen[r.URL.Path]
	c.seen[r.URL.Path] = n + 1
	c.ranges = append(c.ranges, r.Header.Get("Range"))
	c.mu.Unlock()
	if n < c.cuts && resp.StatusCode/100 == 2 && resp.ContentLength > 1 {
		resp.Body = &cutBody{ReadCloser: resp.Body, left: resp.ContentLength / 2}
	}
	return resp, nil
}

type cutBody struct {
	io.ReadCloser
	left int64
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	if b.left -= int64(n); b.left <= 0 && err == nil {
		// The data and the failure in one Read, as a connection can.
		return n, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return n, err
}

// TestResumeBody: an object whose connection is reset part way, twice,
// is read whole all the same, by GETs of the rest (Range from where it
// stopped), through ReadObject and OpenObject alike; an object replaced
// between the cut and the resumption fails the read (If-Match) rather
// than splicing two objects.
func TestResumeBody(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.Bucket(t, false)
	plain := srv.Client(t)
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := plain.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
	put("whole", want)
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg := srv.Config()
	cut := &cutting{base: http.DefaultTransport, cuts: 2, seen: map[string]int{}}
	cfg.HTTPClient = &http.Client{Transport: cut}
	c, err := s3util.NewClient(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s3util.ReadObject(ctx, c, bucket, "whole", 1<<20)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadObject: %d bytes, %v", len(got), err)
	}
	if len(cut.ranges) != 3 || cut.ranges[0] != "" || !strings.HasPrefix(cut.ranges[1], "bytes=") || cut.ranges[1] == cut.ranges[2] {
		t.Errorf("GETs with ranges %q, want a whole one and two of the rest", cut.ranges)
	}
	cut.seen, cut.ranges = map[string]int{}, nil
	rc, err := s3util.OpenObject(ctx, c, bucket, "whole", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) || len(cut.ranges) != 3 {
		t.Fatalf("OpenObject: %d bytes, %v, ranges %q", len(got), err, cut.ranges)
	}

	// Replaced after the cut: the rest is refused, the read fails.
	put("replaced", want)
	cut.seen, cut.ranges = map[string]int{}, nil
	rc, err = s3util.OpenObject(ctx, c, bucket, "replaced", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100<<10)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	put("replaced", bytes.ToUpper(want))
	got, err = io.ReadAll(rc)
	rc.Close()
	if err == nil || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read of a replaced object: %d more bytes, err %v; want the reset, the rest refused", len(got), err)
	}
}

// TestStalledConnections: an answer whose headers never come is asked
// for again, and a body that stops part way is resumed, after the
// timeouts, instead of a read waiting forever (a fake S3 that stalls the
// first answer of each object); a server that answers the rest with the
// whole object fails the read.
func TestStalledConnections(t *testing.T) {
	defer s3util.SetTimeouts(200*time.Millisecond, 200*time.Millisecond)()
	defer s3util.SetMaxBackoff(time.Millisecond)()
	t.Setenv("AWS_CA_BUNDLE", "")
	want := bytes.Repeat([]byte("evidence "), 1000)
	var mu sync.Mutex
	gets := map[string]int{}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := gets[r.URL.Path]
		gets[r.URL.Path] = n + 1
		mu.Unlock()
		w.Header().Set("ETag", `"e1"`)
		switch {
		case n == 0 && strings.HasSuffix(r.URL.Path, "/silent"):
			select { // no headers, ever
			case <-stop:
			case <-r.Context().Done():
			}
			return
		case strings.HasSuffix(r.URL.Path, "/norange"):
			// Half, then the connection cut; asked again, the whole
			// object, whatever the Range.
			w.Header().Set("Content-Length", strconv.Itoa(len(want)))
			w.WriteHeader(http.StatusOK)
			if n > 0 {
				w.Write(want)
				return
			}
			w.Write(want[:len(want)/2])
			w.(http.Flusher).Flush()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		case n == 0 && strings.HasSuffix(r.URL.Path, "/stall"):
			w.Header().Set("Content-Length", strconv.Itoa(len(want)))
			w.WriteHeader(http.StatusOK)
			w.Write(want[:len(want)/2])
			w.(http.Flusher).Flush()
			select { // the rest, never
			case <-stop:
			case <-r.Context().Done():
			}
			return
		}
		from := 0
		if rg := r.Header.Get("Range"); rg != "" {
			if r.Header.Get("If-Match") != `"e1"` {
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
			from, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(want)-1, len(want)))
			w.Header().Set("Content-Length", strconv.Itoa(len(want)-from))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(want)))
		}
		w.Write(want[from:])
	}))
	defer srv.Close()
	defer close(stop)
	c, err := s3util.NewClient(context.Background(), s3util.Config{Endpoint: srv.URL, AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"silent", "stall"} {
		got, err := s3util.ReadObject(context.Background(), c, "bucket", key, 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", key, len(got), err)
		}
	}
	if gets["/bucket/silent"] != 2 || gets["/bucket/stall"] != 2 {
		t.Errorf("GETs %v, want two of each (one stalled, one answered)", gets)
	}
	// A server that ignores Range: the read fails, never splicing the
	// whole object onto the half already read.
	got, err := s3util.ReadObject(context.Background(), c, "bucket", "norange", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "not the rest") {
		t.Errorf("norange: %d bytes, err %v; want a failure", len(got), err)
	}
}

// TestAgainstServer checks the helpers against real S3 error responses.
func TestAgainstServer(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	c, err := s3util.NewClient(ctx, srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	bucket := srv.Bucket(t, false)
	put := func(key string, data []byte, ifNoneMatch bool) error {
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
		if ifNoneMatch {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := c.PutObject(ctx, in)
		return err
	}
	for i := range 5 {
		if err := put(fmt.Sprintf("p/k%d", i), bytes.Repeat([]byte{'x'}, 10*i), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("other", []byte("o"), false); err != nil {
		t.Fatal(err)
	}

	t.Run("ReadObject", func(t *testing.T) {
		b, err := s3util.ReadObject(ctx, c, bucket, "p/k3", 30)
		if err != nil || len(b) != 30 {
			t.Errorf("read at limit = %d bytes, %v", len(b), err)
		}
		if _, err := s3util.ReadObject(ctx, c, bucket, "p/k4", 39); !errors.Is(err, s3util.ErrTooLarge) {
			t.Errorf("read over limit: err = %v, want ErrTooLarge", err)
		}
		if b, err := s3util.ReadObject(ctx, c, bucket, "p/k4", 0); err != nil || len(b) != 40 {
			t.Errorf("read without limit = %d bytes, %v", len(b), err)
		}
	})
	t.Run("OpenObject", func(t *testing.T) {
		read := func(key string, limit int64) ([]byte, error) {
			rc, err := s3util.OpenObject(ctx, c, bucket, key, limit)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
		if b, err := read("p/k3", 30); err != nil || len(b) != 30 {
			t.Errorf("stream at limit = %d bytes, %v", len(b), err)
		}
		if _, err := read("p/k4", 39); !errors.Is(err, s3util.ErrTooLarge) {
			t.Errorf("stream over limit: err = %v, want ErrTooLarge", err)
		}
		if b, err := read("p/k4", 0); err != nil || len(b) != 40 {
			t.Errorf("stream without limit = %d bytes, %v", len(b), err)
		}
		if _, err := read("p/absent", 10); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stream absent: err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := s3util.ReadObject(ctx, c, bucket, "p/absent", 0)
		if !errors.Is(err, fs.ErrNotExist) || !s3util.IsNotFound(err) {
			t.Errorf("get absent: err = %v, want fs.ErrNotExist", err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("p/absent")})
		if !s3util.IsNotFound(err) || !errors.Is(s3util.MapNotFound(err), fs.ErrNotExist) {
			t.Errorf("head absent: err = %v, want not found", err)
		}
		// A missing bucket is a configuration error, not absent evidence.
		_, err = s3util.ReadObject(ctx, c, "no-such-bucket", "k", 0)
		if err == nil || errors.Is(err, fs.ErrNotExist) || s3util.IsNotFound(err) {
			t.Errorf("get from missing bucket: err = %v, want an error that is not fs.ErrNotExist", err)
		}
		if s3util.IsNotFound(nil) || s3util.MapNotFound(nil) != nil {
			t.Error("nil error is not found")
		}
	})
	t.Run("PreconditionFailed", func(t *testing.T) {
		if err := put("p/k0", []byte("again"), true); !s3util.IsPreconditionFailed(err) {
			t.Errorf("conditional put over existing key: err = %v, want precondition failed", err)
		}
		if err := put("p/new", []byte("new"), true); err != nil {
			t.Errorf("conditional put of new key: %v", err)
		}
		if s3util.IsPreconditionFailed(errors.New("x")) {
			t.Error("plain error is a precondition failure")
		}
	})
	t.Run("List", func(t *testing.T) {
		var keys []string
		var sizes []int64
		err := s3util.List(ctx, c, bucket, "p/k", func(o types.Object) error {
			keys = append(keys, aws.ToString(o.Key))
			sizes = append(sizes, aws.ToInt64(o.Size))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(keys) != "[p/k0 p/k1 p/k2 p/k3 p/k4]" || fmt.Sprint(sizes) != "[0 10 20 30 40]" {
			t.Errorf("list = %v %v", keys, sizes)
		}
		stop := errors.New("stop")
		if err := s3util.List(ctx, c, bucket, "", func(types.Object) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("list with failing fn: err = %v", err)
		}
	})
}

// TestListRefusesRepeatedPages: a server that answers every page with the
// same keys and a continuation token (the same one, or a new one each
// time) makes List fail, not list forever (listings in order: the tests
// against versitygw).
func TestListRefusesRepeatedPages(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	var pages atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := pages.Add(1)
		token := "same"
		if r.URL.Query().Get("fresh") != "" || strings.Contains(r.URL.Path, "fresh") {
			token = fmt.Sprint("t", n)
		}
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>%v</IsTruncated><NextContinuationToken>%s</NextContinuationToken><Contents><Key>a</Key><Size>1</Size></Contents><Contents><Key>b</Key><Size>1</Size></Contents></ListBucketResult>`, n < 1000, token)
	}))
	defer srv.Close()
	c, err := s3util.NewClient(context.Background(), s3util.Config{Endpoint: srv.URL, AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{"bucket", "fresh"} {
		pages.Store(0)
		var keys []string
		err := s3util.List(context.Background(), c, bucket, "", func(o types.Object) error {
			keys = append(keys, aws.ToString(o.Key))
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "out of order or repeats") || pages.Load() > 2 {
			t.Errorf("%s: listing of repeated pages: %v after %d pages, %d keys", bucket, err, pages.Load(), len(keys))
		}
	}
}
