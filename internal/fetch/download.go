package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
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
	return c.DownloadChecked(ctx, rawURL, Expect{})
}

// Expect is what the messages API states of an attachment, which a
// download is checked against (zero fields: not stated).
type Expect struct {
	// SHA256 is the stated sha256, in a form CheckSHA256 reads; stated,
	// it decides alone (Size and Mime are not checked).
	SHA256 string
	// Size is the stated contentSizeBytes.
	Size int64
	// Mime is the stated mime type.
	Mime string
}

// bodyCheckAttempts bounds the attempts of a download whose body is not
// what Expect states: a body cut short in transit is a one-off, but a
// host that serves something else (a login page) does so every time,
// and the full MaxAttempts with their backoff would hold up every
// attachment of a run where it does.
const bodyCheckAttempts = 3

// DownloadChecked is Download, the body checked against want: a body
// that is not the attachment want describes is tried again (up to
// bodyCheckAttempts attempts), then the call fails with a *BodyError
// (matching ErrDigestMismatch, ErrSizeMismatch or ErrNotMedia), never
// returning it as the attachment. Checked, in this order:
//   - a digest other than want.SHA256, when stated: ErrDigestMismatch (a
//     body cut short in transit, whatever it was served as); nothing else
//     is checked then, as the digest settles it (one stated in no form
//     CheckSHA256 reads is left to the caller);
//   - a length other than want.Size, when stated: ErrSizeMismatch (Go
//     takes a body without Content-Length that ends when the connection
//     closes as complete, however short); a body of the stated size is
//     the attachment, whatever Content-Type it comes with;
//   - with no size stated, a Content-Type of an HTML page (a proxy's or a
//     portal's "please sign in": text/html, application/xhtml+xml) for
//     an attachment stated as not HTML: ErrNotMedia. No other type is
//     refused: storage hosts label a file by its extension, so a CSV sent
//     as application/vnd.ms-excel comes as text/csv.
func (c *Client) DownloadChecked(ctx context.Context, rawURL string, want Expect) (*Response, error) {
	u, err := c.mediaURL(rawURL)
	if err != nil {
		return nil, err
	}
	sameHost := u.Scheme+"://"+u.Host == c.apiOrigin
	r := request{
		method: http.MethodGet,
		route:  RouteDownload,
		abs:    u,
		accept: "*/*",
		auth:   sameHost,
		pace:   sameHost, // other hosts (S3, CDN) do not count against the API limit
		limit:  c.cfg.MaxDownloadBytes,
	}
	if want != (Expect{}) {
		r.check, r.size = want.check, want.Size
	}
	return c.do(ctx, r)
}

// BodyError is a download whose body is not the attachment the API
// states (Expect), after the attempts allowed. Body is the last body
// received, for a caller that keeps it as what was served.
type BodyError struct {
	Err  error  // wraps ErrDigestMismatch, ErrSizeMismatch or ErrNotMedia, and says how
	Body []byte // the last body received
}

func (e *BodyError) Error() string { return e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// check is the body check of a download (request.check).
func (want Expect) check(body []byte, h http.Header) error {
	if want.SHA256 != "" {
		if err := CheckSHA256(body, want.SHA256); errors.Is(err, ErrDigestMismatch) {
			return &BodyError{Err: err, Body: body}
		}
		return nil
	}
	if want.Size > 0 {
		// A body of exactly the stated size is the attachment, whatever
		// type it is served as: storage hosts label objects by their
		// extension (a CSV stated application/vnd.ms-excel comes as
		// text/csv), so the type would refuse genuine files.
		if int64(len(body)) != want.Size {
			return &BodyError{Err: fmt.Errorf("%w: the storage host served %d bytes, the API states %d (contentSizeBytes)", ErrSizeMismatch, len(body), want.Size), Body: body}
		}
		return nil
	}
	if want.Mime != "" && !htmlType(want.Mime) {
		if ct := h.Get("Content-Type"); htmlType(ct) {
			return &BodyError{Err: fmt.Errorf("%w: the storage host served a %s page (%d bytes) for an attachment stated as %s", ErrNotMedia, quoteShort(mediaType(ct), 60), len(body), quoteShort(want.Mime, 60)), Body: body}
		}
	}
	return nil
}

// htmlType reports whether a media type (a Content-Type or a stated mime,
// parameters allowed) is an HTML page: what a proxy or portal serves in
// place of a file. Other text types are not: a CSV, XML or plain text
// file is often served as one whatever mime it was sent with.
func htmlType(ct string) bool {
	t := strings.ToLower(mediaType(ct))
	return t == "text/html" || t == "application/xhtml+xml"
}

// mediaType is ct without its parameters.
func mediaType(ct string) string {
	t, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(t)
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
	w, err := StatedSHA256(want)
	if err != nil {
		return err
	}
	if g := hex.EncodeToString(got[:]); g != w {
		return fmt.Errorf("fetch: check sha256: %w: got %s, want %s", ErrDigestMismatch, g, w)
	}
	return nil
}

// StatedSHA256 is the digest want states, read as CheckSHA256 reads it,
// in lower-case hex (SHA256Hex's form): a digest known from an earlier
// download is compared with it without the bytes. A want in neither form
// wraps ErrInvalidArgument.
func StatedSHA256(want string) (string, error) {
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
		return "", fmt.Errorf("fetch: check sha256: %w: %q is neither hex nor base64 of 32 bytes", ErrInvalidArgument, quoteShort(want, 80))
	}
	return hex.EncodeToString(wb), nil
}
