package s3util

import (
	"fmt"
	"net"
	"strings"
	"unicode/utf8"
)

// Scheme is the URL scheme of an S3 location.
const Scheme = "s3://"

// ParseURL splits "s3://bucket/prefix" into its bucket and key prefix.
//
// The bucket must be a valid S3 bucket name (3–63 characters of lower-case
// letters, digits, '.' and '-', starting and ending with a letter or digit,
// not an IP address). The prefix is returned without leading or trailing
// slashes ("" when absent); it is made of non-empty segments, none of them
// "." or "..", so that a prefix can never climb out of where the user
// pointed — S3 itself would not care, but an S3-compatible gateway backed
// by a file system might. A query or fragment is rejected rather than
// silently taken as part of the key.
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return "", "", fmt.Errorf("s3 url %q: %w: want s3://bucket/prefix", s, ErrBadURL)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if err := validBucket(bucket); err != nil {
		return "", "", fmt.Errorf("s3 url %q: %w", s, err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return bucket, "", nil
	}
	if err := ValidKey(prefix); err != nil {
		return "", "", fmt.Errorf("s3 url %q: prefix: %w", s, err)
	}
	return bucket, prefix, nil
}

// FormatURL is the inverse of ParseURL.
func FormatURL(bucket, prefix string) string {
	if prefix == "" {
		return Scheme + bucket
	}
	return Scheme + bucket + "/" + prefix
}

// Join joins a prefix (as returned by ParseURL) and a relative key.
func Join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

// ValidKey reports whether key is a relative, clean object key: non-empty
// "/"-separated segments, none "." or "..", no backslash (a path separator
// on some gateways' file systems), no control characters, no '?' or '#',
// and at most 1024 bytes.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrBadURL)
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w: key longer than 1024 bytes", ErrBadURL)
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: empty path segment in %q", ErrBadURL, key)
		case ".", "..":
			return fmt.Errorf("%w: %q segment in %q", ErrBadURL, seg, key)
		}
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: key %q is not valid UTF-8", ErrBadURL, key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '?' || r == '#' {
			return fmt.Errorf("%w: character %q in %q", ErrBadURL, r, key)
		}
	}
	return nil
}

func validBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("%w: bucket name %q must be 3 to 63 characters", ErrBadURL, b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("%w: bucket name %q has character %q (want a-z, 0-9, '.', '-')", ErrBadURL, b, c)
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Errorf("%w: bucket name %q must start and end with a letter or digit", ErrBadURL, b)
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return fmt.Errorf("%w: bucket name %q has adjacent '.' or '-'", ErrBadURL, b)
	}
	if net.ParseIP(b) != nil {
		return fmt.Errorf("%w: bucket name %q looks like an IP address", ErrBadURL, b)
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
