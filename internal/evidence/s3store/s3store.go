package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/s3util"
)

// Scheme is the S3 backend's URL scheme: s3://bucket/prefix.
const Scheme = "s3"

// Options say how to reach S3. They are this backend's own: the flags
// AddFlags declares, all named --s3-….
type Options struct {
	// Endpoint overrides the S3 endpoint for S3-compatible servers
	// ("http://127.0.0.1:7070"); it implies path-style addressing.
	Endpoint string
	// Region; the AWS configuration's when empty.
	Region string
	// PathStyle puts the bucket in the path rather than the host name,
	// for AWS-compatible servers that need it without an endpoint flag.
	PathStyle bool
	// Profile is the shared AWS configuration profile whose credentials
	// and region are used; AWS_PROFILE or "default" when empty.
	Profile string
	// Requests is how many requests the store asks readers and writers of
	// many objects to keep in flight (Parallelism); s3util.DefaultRequests
	// when 0. The client built from these options keeps as many
	// connections open.
	Requests int
	// Client, when set, is used as is instead of one built from the
	// fields above (tests, callers with a client of their own).
	Client *s3.Client
}

// AddFlags declares the options as --s3-… flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Endpoint, "s3-endpoint", "", "S3 endpoint for S3-compatible stores, e.g. http://127.0.0.1:7070")
	fs.StringVar(&o.Region, "s3-region", "", "S3 region (default: the AWS configuration's)")
	fs.BoolVar(&o.PathStyle, "s3-path-style", false, "address S3 buckets in the path, not the host name (implied by --s3-endpoint)")
	fs.StringVar(&o.Profile, "s3-profile", "", "AWS shared configuration profile for S3 credentials (default: AWS_PROFILE, else default)")
	o.Requests = s3util.DefaultRequests
	fs.Var(evidence.RequestsFlag{N: &o.Requests}, "s3-requests", "S3 requests kept in flight by work on many objects (verify, diff, export, erase), 1 to "+strconv.Itoa(evidence.MaxRequests)+"; fewer for a small S3-compatible server")
}

// Config is the s3util client configuration the options describe. Other
// S3 readers (diff's s3:// sources) start from it.
func (o Options) Config() s3util.Config {
	return s3util.Config{Endpoint: o.Endpoint, Region: o.Region, PathStyle: o.PathStyle, Profile: o.Profile, Requests: o.Requests}
}

// Backend opens S3 stores with its Options.
type Backend struct{ Options Options }

// New returns the S3 backend with opts.
func New(opts Options) *Backend { return &Backend{Options: opts} }

func (*Backend) Scheme() string               { return Scheme }
func (*Backend) Example() string              { return "s3://bucket/prefix" }
func (b *Backend) AddFlags(fs *pflag.FlagSet) { b.Options.AddFlags(fs) }

// Normalize returns location as s3://bucket/prefix, the form URL returns:
// no trailing slash, the prefix cleaned.
func (*Backend) Normalize(location string) (string, error) {
	bucket, prefix, err := s3util.ParseURL(location)
	if err != nil {
		return "", err
	}
	return s3util.FormatURL(bucket, prefix), nil
}

func (b *Backend) Open(ctx context.Context, location string, opts evidence.Options) (evidence.Store, error) {
	return Open(ctx, location, b.Options, opts)
}

// s3Store is an evidence.Store in an S3 bucket under a key prefix. Every object is
// written with If-None-Match: "*" (never replacing an existing key) and
// x-amz-checksum-sha256 (the server refuses bytes that do not hash to it),
// and, with legal hold, an Object Lock legal hold.
type s3Store struct {
	client    *s3.Client
	bucket    string
	prefix    string
	legalHold bool
	maxSize   int64
	requests  int // Parallelism
}

// conflictRetries bounds retries of a write that raced another conditional
// write to the same key (409 ConditionalRequestConflict).
const conflictRetries = 4

// Open opens the store at location, s3://bucket/prefix. It checks that the
// bucket exists, and with opts.LegalHold that it has Object Lock enabled
// (evidence.ErrNoObjectLock if not), so that a misconfiguration fails now
// rather than at the first write.
func Open(ctx context.Context, location string, o Options, opts evidence.Options) (evidence.Store, error) {
	bucket, prefix, err := s3util.ParseURL(location)
	if err != nil {
		return nil, fmt.Errorf("evidence: open: %w", err)
	}
	if err := o.Config().CheckRequests(); err != nil { // also when Client is given
		return nil, fmt.Errorf("evidence: open %s: %w", location, err)
	}
	client := o.Client
	if client == nil {
		client, err = s3util.NewClient(ctx, o.Config())
		if err != nil {
			return nil, fmt.Errorf("evidence: open %s: %w", location, err)
		}
	}
	s := &s3Store{client: client, bucket: bucket, prefix: prefix, legalHold: opts.LegalHold, maxSize: opts.Limit(), requests: o.Config().InFlight()}
	// Fail at open, with a clear message, rather than on the first write
	// of an export that may have been running for a while.
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("evidence: open %s: bucket %s: %w", location, bucket, s3util.Explain(err))
	}
	if opts.LegalHold {
		if err := s.checkObjectLock(ctx); err != nil {
			return nil, fmt.Errorf("evidence: open %s: %w", location, err)
		}
	}
	return s, nil
}

func (s *s3Store) checkObjectLock(ctx context.Context) error {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.bucket)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ObjectLockConfigurationNotFoundError" {
		return fmt.Errorf("%w: bucket %s has no object lock configuration (it can only be enabled when the bucket is created)", evidence.ErrNoObjectLock, s.bucket)
	}
	if err != nil {
		return fmt.Errorf("bucket %s: object lock configuration: %w", s.bucket, s3util.Explain(err))
	}
	if out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		return fmt.Errorf("%w: object lock is not enabled on bucket %s", evidence.ErrNoObjectLock, s.bucket)
	}
	return nil
}

// maxVersionPages bounds the pages of one object's version listing
// (1,000 versions a page): far more than any object custody writes once.
const maxVersionPages = 1000

// Delete removes every version of the object (and its delete markers):
// in a versioned bucket — Object Lock needs one — a plain delete only
// hides the bytes behind a marker. A version under a legal hold or an
// unexpired retention is left, and the error matches evidence.ErrLocked
// and says how many versions remain.
func (s *s3Store) Delete(ctx context.Context, sum hashchain.Hash) error {
	key := s.key(evidence.Key(sum))
	var versions []*string
	p := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == maxVersionPages {
			// A server whose listing never ends: refuse rather than loop.
			return fmt.Errorf("evidence: delete %s: list versions: more than %d pages", s.urlOf(key), maxVersionPages)
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("evidence: delete %s: list versions: %w", s.urlOf(key), err)
		}
		for _, v := range out.Versions {
			if aws.ToString(v.Key) == key {
				versions = append(versions, v.VersionId)
			}
		}
		for _, m := range out.DeleteMarkers {
			if aws.ToString(m.Key) == key {
				versions = append(versions, m.VersionId)
			}
		}
	}
	if len(versions) == 0 {
		versions = []*string{nil} // unversioned, or nothing there: one plain delete
	}
	locked := 0
	var lockErr error
	for _, v := range versions {
		in := &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), VersionId: v}
		if _, err := s.client.DeleteObject(ctx, in); err != nil {
			if isNotFound(err) {
				continue
			}
			if isLocked(err) {
				locked++
				lockErr = err
				continue
			}
			return fmt.Errorf("evidence: delete %s: %w", s.urlOf(key), err)
		}
	}
	if locked > 0 {
		return fmt.Errorf("evidence: delete %s: %w: %d of %d versions kept (%v)", s.urlOf(key), evidence.ErrLocked, locked, len(versions), lockErr)
	}
	return nil
}

// SetLegalHold places or lifts the Object Lock legal hold on the latest
// version of the object.
func (s *s3Store) SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error {
	key := s.key(evidence.Key(sum))
	status := types.ObjectLockLegalHoldStatusOff
	if on {
		status = types.ObjectLockLegalHoldStatusOn
	}
	_, err := s.client.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key),
		LegalHold: &types.ObjectLockLegalHold{Status: status},
	})
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "InvalidRequest" || api.ErrorCode() == "ObjectLockConfigurationNotFoundError" ||
		strings.Contains(strings.ToLower(api.ErrorMessage()), "object lock")) {
		return fmt.Errorf("evidence: legal hold %s: %w (%v)", s.urlOf(key), evidence.ErrNoObjectLock, err)
	}
	if err != nil {
		return fmt.Errorf("evidence: legal hold %s: %w", s.urlOf(key), err)
	}
	return nil
}

// isLocked reports whether err is S3 refusing a delete because of Object
// Lock: AWS answers 403 AccessDenied for a locked version; S3-compatible
// servers say so in the message.
func isLocked(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	msg := strings.ToLower(api.ErrorMessage())
	return api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "ObjectLocked" ||
		strings.Contains(msg, "object lock") || strings.Contains(msg, "legal hold") || strings.Contains(msg, "retention") || strings.Contains(msg, "worm")
}

func isNotFound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NoSuchVersion")
}

func (s *s3Store) key(k string) string { return s3util.Join(s.prefix, k) }
func (s *s3Store) URL() string         { return s3util.FormatURL(s.bucket, s.prefix) }
func (s *s3Store) Close() error        { return nil }

// Parallelism is how many GETs a reader of many objects, and PUTs
// evidence.PutAll, keep in flight (evidence.Parallel): at an S3 round
// trip of 20 – 50 ms, one at a time moves 20 – 50 objects a second.
// It is Options.Requests (64 by default); s3util's client keeps as many
// connections to the endpoint open between requests.
func (s *s3Store) Parallelism() int { return s.requests }

func (s *s3Store) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	if int64(len(data)) > s.maxSize {
		return evidence.Ref{}, fmt.Errorf("evidence: put: %w: %d bytes, limit %d", evidence.ErrTooLarge, len(data), s.maxSize)
	}
	sum := hashchain.Hash(sha256.Sum256(data))
	ref := evidence.Ref{Sum: sum, Size: int64(len(data))}
	key := s.key(evidence.Key(sum))
	for attempt := 0; ; attempt++ {
		in := &s3.PutObjectInput{
			Bucket: aws.String(s.bucket),
			Key:    aws.String(key),
			// A seekable body: the SDK can sign and retry it without
			// buffering or chunked encoding, which plain-http endpoints need.
			Body:           bytes.NewReader(data),
			ContentLength:  aws.Int64(int64(len(data))),
			ContentType:    aws.String("application/octet-stream"),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
			IfNoneMatch:    aws.String("*"),
		}
		if s.legalHold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
		}
		_, err := s.client.PutObject(ctx, in)
		if err == nil {
			return ref, nil
		}
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ConditionalRequestConflict" && attempt < conflictRetries {
			// Another writer is mid-way through the same key; once it
			// lands, our retry gets 412 and compares.
			if err := sleep(ctx, time.Duration(25<<attempt)*time.Millisecond); err != nil {
				return evidence.Ref{}, fmt.Errorf("evidence: put %s: %w", key, err)
			}
			continue
		}
		if !s3util.IsPreconditionFailed(err) {
			return evidence.Ref{}, fmt.Errorf("evidence: put %s: %w", s.urlOf(key), s3util.Explain(err))
		}
		if err := s.checkExisting(ctx, key, sum); err != nil {
			return evidence.Ref{}, fmt.Errorf("evidence: put %s: %w", s.urlOf(key), err)
		}
		ref.Existed = true
		return ref, nil
	}
}

// urlOf names a key in error messages.
func (s *s3Store) urlOf(key string) string { return s3util.FormatURL(s.bucket, key) }

// checkExisting reads the object at key and fails with evidence.ErrCorrupt unless it
// hashes to sum. With legal hold, it also places the hold if the object
// was stored without one (by an earlier run without --legal-hold), so that
// a Put always leaves the object as asked.
func (s *s3Store) checkExisting(ctx context.Context, key string, sum hashchain.Hash) error {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("read existing object: %w", s3util.MapNotFound(s3util.Explain(err)))
	}
	defer out.Body.Close()
	d := sha256.New()
	n, err := io.Copy(d, io.LimitReader(out.Body, s.maxSize+1))
	if err != nil {
		return fmt.Errorf("read existing object: %w", err)
	}
	if n > s.maxSize {
		return fmt.Errorf("%w: existing object is over %d bytes", evidence.ErrCorrupt, s.maxSize)
	}
	if got := hashchain.Hash(d.Sum(nil)); got != sum {
		return fmt.Errorf("%w: existing object has sha256 %s", evidence.ErrCorrupt, got)
	}
	if s.legalHold && out.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		_, err := s.client.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
			Bucket:    aws.String(s.bucket),
			Key:       aws.String(key),
			VersionId: out.VersionId,
			LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn},
		})
		if err != nil {
			return fmt.Errorf("place legal hold on existing object: %w", s3util.Explain(err))
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *s3Store) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	b, err := s3util.ReadObject(ctx, s.client, s.bucket, s.key(evidence.Key(sum)), s.maxSize)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return b, nil
}

// Open streams the object (evidence.Opener): verify hashes it through a
// buffer instead of holding it whole, so its workers (one a request in
// flight) hold no more than their buffers whatever the attachments weigh.
func (s *s3Store) Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error) {
	rc, err := s3util.OpenObject(ctx, s.client, s.bucket, s.key(evidence.Key(sum)), s.maxSize)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return rc, nil
}

func (s *s3Store) Exists(ctx context.Context, sum hashchain.Hash) (bool, error) {
	key := s.key(evidence.Key(sum))
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if s3util.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("evidence: exists %s: %w", s.urlOf(key), s3util.Explain(err))
	}
	return true, nil
}

func (s *s3Store) Walk(ctx context.Context, fn func(hashchain.Hash) error) error {
	return s.Survey(ctx, fn, nil)
}

// Survey lists the keys under prefix/sha256/: those that are addresses go
// to objects, the others (a key in another address's shard, a name that
// is no address, a "folder" key ending in "/") to strays when it is set.
func (s *s3Store) Survey(ctx context.Context, objects func(hashchain.Hash) error, strays func(string) error) error {
	top := s.key(evidence.Dir) + "/"
	// S3 lists keys in ascending UTF-8 order, which for lower-case hex is
	// ascending order of address.
	err := s3util.List(ctx, s.client, s.bucket, top, func(o types.Object) error {
		name := evidence.Dir + "/" + strings.TrimPrefix(aws.ToString(o.Key), top)
		sum, ok := evidence.ParseKey(name)
		if !ok {
			if strays == nil {
				return nil
			}
			return strays(name)
		}
		return objects(sum)
	})
	if err != nil {
		return fmt.Errorf("evidence: walk %s: %w", s.URL(), err)
	}
	return nil
}

// Files lists the keys under the prefix but those under prefix/sha256/:
// one listing of the top level with delimiter "/", then one of each
// common prefix there but sha256/, so that the objects are never listed.
func (s *s3Store) Files(ctx context.Context, fn func(string) error) error {
	top := s.key("")
	var dirs []string
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(top), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("evidence: list files %s: %w", s.URL(), s3util.Explain(err))
		}
		for _, o := range page.Contents {
			if err := fn(strings.TrimPrefix(aws.ToString(o.Key), top)); err != nil {
				return err
			}
		}
		for _, cp := range page.CommonPrefixes {
			if d := aws.ToString(cp.Prefix); d != top+evidence.Dir+"/" {
				dirs = append(dirs, d)
			}
		}
	}
	for _, d := range dirs {
		err := s3util.List(ctx, s.client, s.bucket, d, func(o types.Object) error {
			return fn(strings.TrimPrefix(aws.ToString(o.Key), top))
		})
		if err != nil {
			return fmt.Errorf("evidence: list files %s: %w", s.URL(), err)
		}
	}
	return nil
}

func (s *s3Store) PutFile(ctx context.Context, name string, data []byte) error {
	if err := evidence.ValidName(name); err != nil {
		return fmt.Errorf("evidence: put file: %w", err)
	}
	if int64(len(data)) > s.maxSize {
		return fmt.Errorf("evidence: put file %s: %w: %d bytes, limit %d", name, evidence.ErrTooLarge, len(data), s.maxSize)
	}
	sum := sha256.Sum256(data)
	key := s.key(name)
	in := &s3.PutObjectInput{
		Bucket:         aws.String(s.bucket),
		Key:            aws.String(key),
		Body:           bytes.NewReader(data),
		ContentLength:  aws.Int64(int64(len(data))),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	if s.legalHold {
		in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("evidence: put file %s: %w", s.urlOf(key), s3util.Explain(err))
	}
	return nil
}

func (s *s3Store) GetFile(ctx context.Context, name string) ([]byte, error) {
	if err := evidence.ValidName(name); err != nil {
		return nil, fmt.Errorf("evidence: get file: %w", err)
	}
	b, err := s3util.ReadObject(ctx, s.client, s.bucket, s.key(name), s.maxSize)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return b, nil
}
