package s3util

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// Errors callers match with errors.Is.
var (
	// ErrBadURL: an s3:// location or object key is malformed.
	ErrBadURL = errors.New("bad s3 location")
	// ErrTooLarge: an object is bigger than the caller's read limit.
	ErrTooLarge = errors.New("object too large")
)

// DefaultRegion is used with an endpoint override when no region is given:
// S3-compatible servers accept any region, but SigV4 needs one.
const DefaultRegion = "us-east-1"

// Config says how to reach S3. The zero value means AWS with the default
// credential and region chain (environment, shared config, instance role).
type Config struct {
	// Endpoint overrides the S3 endpoint ("http://127.0.0.1:7070") for
	// S3-compatible servers; it implies path-style addressing.
	Endpoint string
	// Region; with Endpoint set and Region empty, DefaultRegion.
	Region string
	// AccessKey and SecretKey are static credentials; when empty the
	// default AWS credential chain is used.
	AccessKey, SecretKey string
	// PathStyle forces path-style addressing (bucket in the path, not the
	// host name) on AWS too.
	PathStyle bool
	// Profile names a profile of the shared AWS configuration and
	// credentials files; empty means AWS_PROFILE or "default".
	Profile string
	// Requests is how many requests a reader or writer of many objects
	// keeps in flight, and so how many connections the client keeps open
	// between requests; DefaultRequests when 0.
	Requests int
	// HTTPClient, when set, carries the requests (tests, proxies).
	HTTPClient *http.Client
}

// DefaultRequests is Config.Requests when it is 0: at a round trip of
// 20 – 50 ms, 64 requests in flight move 1,300 – 3,200 small objects a
// second, where one at a time moves 20 – 50. A small S3-compatible server
// may want fewer (--s3-requests).
const DefaultRequests = 64

// CheckRequests refuses a Requests below 0.
func (c Config) CheckRequests() error {
	if c.Requests < 0 {
		return fmt.Errorf("%d S3 requests in flight: want 1 or more (0: the default, %d)", c.Requests, DefaultRequests)
	}
	return nil
}

// InFlight is how many requests a reader or writer of many objects keeps
// in flight: Requests, or DefaultRequests when 0.
func (c Config) InFlight() int {
	if c.Requests > 0 {
		return c.Requests
	}
	return DefaultRequests
}

// MaxAttempts is how many times a request is sent before its error is
// returned: S3 answers 503 SlowDown (and now and then a 500) when asked
// too fast and expects the client to back off and try again, and a verify
// of a million objects with many requests in flight meets some. The SDK's
// default, 3 attempts and a retry quota that stops retrying once failures
// outpace successes, let one such answer end a whole verify
// (TestRetriesSlowDown). Between attempts the SDK waits a jittered,
// doubling delay of up to maxBackoff.
const MaxAttempts = 10

// connectAttempts is how many times a request that cannot reach the
// endpoint at all (a refused connection, an unknown host) is sent, as
// the SDK's default: a wrong --s3-endpoint fails in seconds, not after
// ten backoffs.
const connectAttempts = 3

// maxBackoff is the longest wait between two attempts (the SDK's
// default; tests shorten it).
var maxBackoff = 20 * time.Second

// responseTimeout is how long a request waits for the answer's headers
// once it is sent, and readIdle how long a body read waits for data:
// past them the request is sent again, or the body resumed, instead of a
// verify or a diff waiting forever on a connection that died silently.
// S3 answers in well under a second; tests shorten them. Not the SDK's
// read timeout (BuildableClient.WithReadTimeout): it is a deadline on
// every read of the connection, so it would fire during a long upload,
// which is why the SDK exempts S3 from it; the header timeout starts once
// the request is sent, and readIdle only while a body is being read.
var responseTimeout, readIdle = 60 * time.Second, 60 * time.Second

// retryer is the SDK's standard retryer with MaxAttempts, no retry quota,
// and connectAttempts for a request that never reached the endpoint.
type retryer struct{ aws.RetryerV2 }

func newRetryer() aws.Retryer {
	return retryer{retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
	})}
}

// RetryDelay stops the retries of a request that could not connect after
// connectAttempts (an error from RetryDelay ends them with it).
func (r retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	var op *net.OpError
	if attempt >= connectAttempts && errors.As(err, &op) && op.Op == "dial" {
		return 0, err
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

// NewClient builds an S3 client from cfg.
func NewClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	if err := cfg.CheckRequests(); err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	var opts []func(*config.LoadOptions) error
	region := cfg.Region
	if region == "" && cfg.Endpoint != "" {
		region = DefaultRegion
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return nil, errors.New("s3 client: access key and secret key go together")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	} else {
		// The SDK keeps 10 idle connections to a host: readers that keep
		// more requests in flight (evidence.Parallel) would open a new
		// connection, TLS and all, for every request past the tenth.
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = cfg.InFlight()
			t.ResponseHeaderTimeout = responseTimeout
		})))
	}
	opts = append(opts, config.WithRetryer(newRetryer))
	// The SDK's own log lines ("falling back to IMDSv1 …") go straight to
	// stderr, outside custody's log format; what matters reaches the user
	// as the error, with a hint (Explain).
	opts = append(opts, config.WithLogger(logging.Nop{}))
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		e := &Error{Msg: "load AWS configuration: " + oneLine(err), Err: err}
		if cfg.Profile != "" || strings.Contains(err.Error(), "profile") {
			e.hint = hintProfile
		}
		return nil, fmt.Errorf("s3 client: %w", e)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("s3 client: %w", &Error{Msg: "no region", hint: hintNoRegion})
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle || cfg.Endpoint != ""
	}), nil
}

// IsNotFound reports whether err says the object does not exist: S3's
// NoSuchKey (GET) or NotFound (HEAD, which has no error body), or an error
// already mapped to fs.ErrNotExist. A missing bucket on GET (NoSuchBucket)
// is not "not found": it is a configuration error and must not read as
// "this evidence is absent".
func IsNotFound(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// MapNotFound returns err unchanged unless IsNotFound(err), in which case
// the result also matches errors.Is(err, fs.ErrNotExist).
func MapNotFound(err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || !IsNotFound(err) {
		return err
	}
	return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
}

// IsPreconditionFailed reports whether a conditional write lost: 412
// PreconditionFailed (If-None-Match: "*" and the key exists) or 409
// ConditionalRequestConflict (a concurrent conditional write to the key).
func IsPreconditionFailed(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	return false
}

// ReadObject reads a whole object, refusing more than maxSize bytes (no
// limit when maxSize <= 0). A missing object matches fs.ErrNotExist. A
// connection that fails part way through the body is resumed
// (resumingBody).
func ReadObject(ctx context.Context, c *s3.Client, bucket, key string, maxSize int64) ([]byte, error) {
	body, size, err := getObject(ctx, c, bucket, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return readLimited(body, size, maxSize, FormatURL(bucket, key))
}

// OpenObject streams an object, refusing more than maxSize bytes (no
// limit when maxSize <= 0): an object listed as larger fails at once, and
// one that grows past the limit while it is read fails the read, both
// with ErrTooLarge. A missing object matches fs.ErrNotExist. A connection
// that fails part way through the body is resumed (resumingBody).
func OpenObject(ctx context.Context, c *s3.Client, bucket, key string, maxSize int64) (io.ReadCloser, error) {
	body, size, err := getObject(ctx, c, bucket, key)
	if err != nil {
		return nil, err
	}
	name := FormatURL(bucket, key)
	if maxSize > 0 && size > maxSize {
		body.Close()
		return nil, fmt.Errorf("s3 get %s: %w: %d bytes, limit %d", name, ErrTooLarge, size, maxSize)
	}
	if maxSize <= 0 {
		return body, nil
	}
	return &limitedBody{body: body, left: maxSize, limit: maxSize, name: name}, nil
}

// getObject sends a GET of bucket/key and returns its body, resumable,
// and its length.
func getObject(ctx context.Context, c *s3.Client, bucket, key string) (io.ReadCloser, int64, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, 0, fmt.Errorf("s3 get %s: %w", FormatURL(bucket, key), MapNotFound(Explain(err)))
	}
	size := aws.ToInt64(out.ContentLength)
	rb := &resumingBody{ctx: ctx, c: c, bucket: bucket, key: key, etag: aws.ToString(out.ETag), size: -1, body: out.Body}
	if out.ContentLength != nil {
		rb.size = size
	}
	return rb, size, nil
}

// bodyResumes is how many times one object's body is asked for again
// after its connection failed part way.
const bodyResumes = 5

// resumingBody is an object's body that, when the connection fails part
// way (a reset, a timeout), asks for the rest: a ranged GET from where it
// stopped, of the same object (If-Match its ETag, so that an object
// replaced meanwhile is never spliced onto the old one's start), up to
// bodyResumes times. With 64 reads in flight over a million objects a
// reset connection then costs a request, not a verify or a diff's file.
// The SDK retries a request, not a body read.
type resumingBody struct {
	ctx               context.Context
	c                 *s3.Client
	bucket, key, etag string
	size              int64 // ContentLength of the first answer; -1 when it had none
	body              io.ReadCloser
	off               int64 // bytes read so far
	resumes           int
	pending           error // a failure that came with data, to resume on the next Read
}

func (r *resumingBody) Read(p []byte) (int, error) {
	for {
		err := r.pending
		r.pending = nil
		if err == nil {
			// A connection that stalls is closed after readIdle, which
			// fails the read: resumed below, as a reset is.
			body := r.body
			stall := time.AfterFunc(readIdle, func() { body.Close() })
			var n int
			n, err = body.Read(p)
			if !stall.Stop() && err != nil && err != io.EOF {
				err = fmt.Errorf("no data for %v: %w", readIdle, err)
			}
			r.off += int64(n)
			if err == nil || err == io.EOF {
				return n, err
			}
			if n > 0 {
				r.pending = err // resumed on the next Read
				return n, nil
			}
		}
		if r.ctx.Err() != nil || r.etag == "" || r.resumes >= bodyResumes {
			return 0, r.fail(err)
		}
		if r.size >= 0 && r.off >= r.size {
			return 0, io.EOF // every byte came; only the connection's end failed
		}
		r.resumes++
		r.body.Close()
		out, gerr := r.c.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: aws.String(r.bucket), Key: aws.String(r.key),
			Range: aws.String(fmt.Sprintf("bytes=%d-", r.off)), IfMatch: aws.String(r.etag),
		})
		if gerr != nil {
			return 0, r.fail(fmt.Errorf("%w (asking for the rest from byte %d: %w)", err, r.off, Explain(gerr)))
		}
		r.body = out.Body
		// A server that ignores Range sends the whole object again:
		// appended, it would corrupt what was read.
		if want := fmt.Sprintf("bytes %d-", r.off); !strings.HasPrefix(aws.ToString(out.ContentRange), want) {
			return 0, r.fail(fmt.Errorf("%w (asking for the rest from byte %d: the answer is %q, not the rest)", err, r.off, aws.ToString(out.ContentRange)))
		}
	}
}

// fail closes the body and makes every later Read fail with err.
func (r *resumingBody) fail(err error) error {
	r.body.Close()
	r.body = io.NopCloser(failedReader{err})
	return err
}

func (r *resumingBody) Close() error { return r.body.Close() }

// failedReader fails every read with err.
type failedReader struct{ err error }

func (f failedReader) Read([]byte) (int, error) { return 0, f.err }

// limitedBody reads an object's body and fails once more than limit
// bytes came.
type limitedBody struct {
	body        io.ReadCloser
	left, limit int64
	name        string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.body.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return 0, fmt.Errorf("s3 get %s: %w: more than %d bytes", l.name, ErrTooLarge, l.limit)
	}
	if err != nil && err != io.EOF {
		err = fmt.Errorf("s3 get %s: read body: %w", l.name, err)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.body.Close() }

func readLimited(r io.Reader, size, maxSize int64, name string) ([]byte, error) {
	if maxSize > 0 && size > maxSize {
		return nil, fmt.Errorf("s3 get %s: %w: %d bytes, limit %d", name, ErrTooLarge, size, maxSize)
	}
	if maxSize > 0 {
		r = io.LimitReader(r, maxSize+1)
	}
	var buf bytes.Buffer
	buf.Grow(int(max(0, min(size, 64<<20)))) // trust the length only so far
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("s3 get %s: read body: %w", name, err)
	}
	if maxSize > 0 && int64(buf.Len()) > maxSize {
		return nil, fmt.Errorf("s3 get %s: %w: more than %d bytes", name, ErrTooLarge, maxSize)
	}
	return buf.Bytes(), nil
}

// List calls fn for every object whose key starts with prefix, in the
// server's (lexicographic) order, one page at a time; an error from fn
// stops the listing and is returned as is. Keys must come in strictly
// increasing order, as S3 lists them: a server that repeats its pages
// (the same continuation token, or new tokens over the same keys) is an
// error, not a listing without end.
func List(ctx context.Context, c *s3.Client, bucket, prefix string, fn func(types.Object) error) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket),
		Prefix: aws.String(prefix),
	})
	last, first := "", true
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3 list %s: %w", FormatURL(bucket, prefix), Explain(err))
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if !first && k <= last {
				return fmt.Errorf("s3 list %s: key %q after %q: the server lists out of order or repeats its pages", FormatURL(bucket, prefix), k, last)
			}
			last, first = k, false
			if err := fn(o); err != nil {
				return err
			}
		}
	}
	return nil
}
