package s3util_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/s3util"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in             string
		bucket, prefix string
		bad            bool
	}{
		{in: "s3://bucket", bucket: "bucket"},
		{in: "s3://bucket/", bucket: "bucket"},
		{in: "s3://my.bucket-1/exports/2026", bucket: "my.bucket-1", prefix: "exports/2026"},
		{in: "s3://bucket/exports/2026/", bucket: "bucket", prefix: "exports/2026"},
		{in: "s3://bucket/a b/ü", bucket: "bucket", prefix: "a b/ü"},
		{in: "s3://bucket/a..b", bucket: "bucket", prefix: "a..b"},
		{in: "bucket/prefix", bad: true},
		{in: "S3://bucket", bad: true},
		{in: "s3://", bad: true},
		{in: "s3:///prefix", bad: true},
		{in: "s3://ab", bad: true},
		{in: "s3://" + strings.Repeat("a", 64), bad: true},
		{in: "s3://Bucket", bad: true},
		{in: "s3://under_score", bad: true},
		{in: "s3://-bucket", bad: true},
		{in: "s3://bucket-", bad: true},
		{in: "s3://a..b", bad: true},
		{in: "s3://a.-b", bad: true},
		{in: "s3://192.168.1.1", bad: true},
		{in: "s3://bucket/../other", bad: true},
		{in: "s3://bucket/a/../../b", bad: true},
		{in: "s3://bucket/a/./b", bad: true},
		{in: "s3://bucket/..", bad: true},
		{in: "s3://bucket//a", bad: true},
		{in: "s3://bucket/a//b", bad: true},
		{in: `s3://bucket/a\..\b`, bad: true},
		{in: "s3://bucket/a?versionId=1", bad: true},
		{in: "s3://bucket/a#frag", bad: true},
		{in: "s3://bucket/a\nb", bad: true},
		{in: "s3://bucket/\xff", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, p, err := s3util.ParseURL(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %q, %q; want an error", tt.in, b, p)
				}
				if !errors.Is(err, s3util.ErrBadURL) {
					t.Errorf("err = %v, want ErrBadURL", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.in, err)
			}
			if b != tt.bucket || p != tt.prefix {
				t.Errorf("ParseURL(%q) = %q, %q; want %q, %q", tt.in, b, p, tt.bucket, tt.prefix)
			}
			if back := s3util.FormatURL(b, p); back != strings.TrimSuffix(tt.in, "/") {
				t.Errorf("FormatURL = %q, want %q", back, strings.TrimSuffix(tt.in, "/"))
			}
		})
	}
}

func TestJoin(t *testing.T) {
	if got := s3util.Join("", "k"); got != "k" {
		t.Errorf("Join(\"\", k) = %q", got)
	}
	if got := s3util.Join("a/b", "c/d"); got != "a/b/c/d" {
		t.Errorf("Join(a/b, c/d) = %q", got)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://bucket", "s3://my.bucket-1/exports/2026/", "s3://bucket/../x",
		"s3://bucket/a/./b", "s3://1.2.3.4/x", "s3://bucket/a?b", "s3://b/\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bucket, prefix, err := s3util.ParseURL(s)
		if err != nil {
			return
		}
		if len(bucket) < 3 || len(bucket) > 63 || strings.ContainsAny(bucket, "/_ ") {
			t.Fatalf("accepted bucket %q from %q", bucket, s)
		}
		if prefix != "" {
			for _, seg := range strings.Split(prefix, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("accepted prefix %q from %q", prefix, s)
				}
			}
		}
		// Parsing what we format gives the same parts back.
		b2, p2, err := s3util.ParseURL(s3util.FormatURL(bucket, prefix))
		if err != nil || b2 != bucket || p2 != prefix {
			t.Fatalf("round trip of %q: %q %q %v", s, b2, p2, err)
		}
	})
}
