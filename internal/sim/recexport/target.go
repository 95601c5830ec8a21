package recexport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/s3util"
)

// Target is where an export is written: a local folder (Dir) or an S3
// prefix (S3, Bucket, Prefix).
type Target struct {
	Dir    string
	S3     *s3.Client
	Bucket string
	Prefix string
}

// OpenTarget parses "s3://bucket/prefix" (reached with cfg) or a folder path.
func OpenTarget(ctx context.Context, loc string, cfg s3util.Config) (Target, error) {
	if strings.HasPrefix(loc, s3util.Scheme) {
		bucket, prefix, err := s3util.ParseURL(loc)
		if err != nil {
			return Target{}, fmt.Errorf("recexport: target: %w", err)
		}
		c, err := s3util.NewClient(ctx, cfg)
		if err != nil {
			return Target{}, fmt.Errorf("recexport: target: %w", err)
		}
		return Target{S3: c, Bucket: bucket, Prefix: prefix}, nil
	}
	if loc == "" {
		return Target{}, fmt.Errorf("recexport: target: %w", ErrNoTarget)
	}
	return Target{Dir: loc}, nil
}

// CheckFolder makes dir (with its parents) if it is missing and checks
// that a file can be written in it, so that a folder target, or the
// folder of a manifest, that no export could write is refused when it is
// named rather than when a job fails on it.
func CheckFolder(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("recexport: %w", err)
	}
	f, err := os.CreateTemp(dir, ".recexport-check-*")
	if err != nil {
		return fmt.Errorf("recexport: folder %s cannot be written: %w", dir, err)
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("recexport: folder %s: %w", dir, err)
	}
	return nil
}

func (t Target) String() string {
	if t.S3 != nil {
		return s3util.FormatURL(t.Bucket, t.Prefix)
	}
	return t.Dir
}

func (t Target) check() error {
	if (t.S3 == nil) == (t.Dir == "") {
		return fmt.Errorf("recexport: %w: set either a folder or an S3 client and bucket", ErrNoTarget)
	}
	if t.S3 != nil && t.Bucket == "" {
		return fmt.Errorf("recexport: %w: no bucket", ErrNoTarget)
	}
	return nil
}

// contains reports whether a local path lies inside a folder target, where
// the ground truth must never be written (a diff would read it as export).
func (t Target) contains(path string) bool {
	if t.Dir == "" {
		return false
	}
	dir, err1 := filepath.Abs(t.Dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Put writes one file at rel, a clean "/"-separated name under the target.
func (t Target) Put(ctx context.Context, rel string, data []byte) error {
	if t.S3 != nil {
		key := s3util.Join(t.Prefix, rel)
		_, err := t.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        aws.String(t.Bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(data), // seekable: plain-http endpoints need it to sign
			ContentLength: aws.Int64(int64(len(data))),
			ContentType:   aws.String("application/json"),
		})
		if err != nil {
			return fmt.Errorf("recexport: put %s: %w", s3util.FormatURL(t.Bucket, key), err)
		}
		return nil
	}
	p := filepath.Join(t.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("recexport: write %s: %w", p, err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("recexport: write %s: %w", p, err)
	}
	return nil
}
