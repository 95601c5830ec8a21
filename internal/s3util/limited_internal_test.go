package s3util

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestLimitedBody: a body that turns out longer than its listed length
// (or than the limit) fails the read with ErrTooLarge once it passes the
// limit, whatever the reader's buffer size; one at the limit reads whole.
func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		body  string
		limit int64
		ok    bool
	}{
		{"", 5, true},
		{"abcde", 5, true},
		{"abcdef", 5, false},
		{strings.Repeat("x", 1000), 999, false},
		{strings.Repeat("x", 1000), 1000, true},
	} {
		l := &limitedBody{body: io.NopCloser(strings.NewReader(tc.body)), left: tc.limit, limit: tc.limit, name: "s3://b/k"}
		got, err := io.ReadAll(l)
		if tc.ok != (err == nil) || tc.ok && string(got) != tc.body || !tc.ok && !errors.Is(err, ErrTooLarge) {
			t.Errorf("body %d bytes, limit %d: %d bytes, %v", len(tc.body), tc.limit, len(got), err)
		}
		for _, bufSize := range []int{1, 3, 512, 4096} {
			l := &limitedBody{body: io.NopCloser(strings.NewReader(tc.body)), left: tc.limit, limit: tc.limit, name: "s3://b/k"}
			var n int64
			buf := make([]byte, bufSize)
			for {
				k, err := l.Read(buf)
				n += int64(k)
				if err == io.EOF {
					if !tc.ok || n != int64(len(tc.body)) {
						t.Errorf("body %d bytes, limit %d, reads of %d: EOF after %d", len(tc.body), tc.limit, bufSize, n)
					}
					break
				}
				if err != nil {
					if tc.ok || !errors.Is(err, ErrTooLarge) || n > tc.limit {
						t.Errorf("body %d bytes, limit %d, reads of %d: %v after %d", len(tc.body), tc.limit, bufSize, err, n)
					}
					break
				}
			}
		}
	}
}
