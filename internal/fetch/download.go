package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Download fetches media (an attachment url from a message) and returns
// its bytes exactly as received, within Config.MaxDownloadBytes, with the
// same retry policy as API calls. The bearer token is sent only when the
// url is on the API host: media urls come from responses custody does not
// trust, and are usually pre-signed for another host, which must never see
// the token. For the same reason Response.Path carries the path without
// the query (which holds the signature), and errors name only the path.
// A url starting with "/" is taken relative to the API host.
func (c *Client) Download(ctx context.Context, rawURL string) (*Response, error) {
	u, err := c.mediaURL(rawURL)
	if err != nil {
		return nil, err
	}
	sameHost := u.Scheme+"://"+u.Host == c.apiOrigin
	return c.do(ctx, request{
		method: http.MethodGet,
		route:  RouteDownload,
		abs:    u,
		accept: "*/*",
		auth:   sameHost,
		pace:   sameHost, // other hosts (S3, CDN) do not count against the API limit
		limit:  c.cfg.MaxDownloadBytes,
	})
}

func (c *Client) mediaURL(raw string) (*url.URL, error) {
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		raw = c.api + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("fetch: download: %w: want an http(s) url without user info", ErrInvalidArgument)
	}
	u.Fragment = ""
	return u, nil
}

// SHA256Hex returns the lower-case hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// CheckSHA256 compares the SHA-256 of body with want, given as hex (either
// case) or base64 (standard or URL alphabet, padded or not), the forms
// seen for attachment sha256 fields. A mismatch wraps ErrDigestMismatch; a
// want in neither form wraps ErrInvalidArgument.
func CheckSHA256(body []byte, want string) error {
	got := sha256.Sum256(body)
	w := strings.TrimSpace(want)
	var wb []byte
	if len(w) == 64 {
		wb, _ = hex.DecodeString(w)
	}
	if wb == nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(w); err == nil && len(b) == sha256.Size {
				wb = b
				break
			}
		}
	}
	if len(wb) != sha256.Size {
		return fmt.Errorf("fetch: check sha256: %w: %q is neither hex nor base64 of 32 bytes", ErrInvalidArgument, quoteShort(want, 80))
	}
	if string(wb) != string(got[:]) {
		return fmt.Errorf("fetch: check sha256: %w: got %s, want %s", ErrDigestMismatch, hex.EncodeToString(got[:]), hex.EncodeToString(wb))
	}
	return nil
}
