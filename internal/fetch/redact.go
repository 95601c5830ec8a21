package fetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/custodyhq/custody/internal/redact"
)

// Redacted replaces every credential Redactor.Redact finds, as it
// replaces the secrets of a URL (redact.URL).
const Redacted = redact.Placeholder

// minSecretLen: values shorter than this are not redacted on their own
// (they would match ordinary text); Genesys secrets are 43 bytes and
// tokens longer still.
const minSecretLen = 4

// Redactor removes credentials from text before it reaches a log, an
// output or the ledger: the client secret, "id:secret" and its base64
// forms (the Basic credentials, standard and URL alphabets, padded or
// not), and every bearer token it was told of (current and previous),
// each also as it reads JSON-escaped or URL-escaped. A Client registers
// its credentials and every token it obtains; commands share one
// Redactor between the client and their log handler (Config.Redactor).
// The zero value is not usable: call NewRedactor. It is safe for
// concurrent use; Redact is cheap when the text holds no credential.
type Redactor struct {
	mu    sync.Mutex
	raw   map[string]bool // registered values, for dedup
	words map[string]bool // a URL's word-like secrets (redact.WordLike): replaced where a URL is written
	list  atomic.Pointer[needles]
}

// needles is an immutable snapshot: variants longest first (so "id:secret"
// goes before "secret", a padded base64 before its unpadded prefix), and
// the raw forms looked for in bodies.
type needles struct {
	variants [][]byte
	strs     []string
	raw      [][]byte
	words    []string // the variants of the word-like secrets, longest first
}

// NewRedactor returns a Redactor that knows no credential yet.
func NewRedactor() *Redactor {
	r := &Redactor{raw: map[string]bool{}, words: map[string]bool{}}
	r.list.Store(&needles{})
	return r
}

// AddCredentials registers client credentials: the secret, "id:secret"
// and the base64 of "id:secret" (the Basic Authorization header).
func (r *Redactor) AddCredentials(id, secret string) {
	if secret == "" {
		return
	}
	pair := id + ":" + secret
	vals := []string{secret, pair}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		vals = append(vals, enc.EncodeToString([]byte(pair)))
	}
	r.add(vals...)
}

// Add registers secret values as they are, e.g. a bearer token.
func (r *Redactor) Add(secrets ...string) { r.add(secrets...) }

// AddURL registers the secrets a URL the user gave carries
// (redact.Secrets: its password, query and query values, fragment), so
// that text repeating them in any form — an error of net/http or of the
// AWS SDK that quotes the URL its own way — is redacted. A secret that
// could be an ordinary word or number (redact.WordLike: "with",
// "ledger", "2024") is replaced only inside a URL written in the text
// (redact.InURLs), never in the words around it; any other wherever it
// appears. Text that is not an absolute URL registers nothing.
func (r *Redactor) AddURL(raw string) {
	var words, others []string
	for _, v := range redact.Secrets(raw) {
		if redact.WordLike(v) {
			words = append(words, v)
		} else {
			others = append(others, v)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.addLocked(others)
	for _, v := range words {
		if len(v) >= minSecretLen && !r.words[v] && !r.raw[v] {
			r.words[v] = true
			changed = true
		}
	}
	if changed {
		r.rebuild()
	}
}

func (r *Redactor) add(vals ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addLocked(vals) {
		r.rebuild()
	}
}

// addLocked registers vals, to be replaced wherever they appear; it
// reports whether one was new.
func (r *Redactor) addLocked(vals []string) bool {
	changed := false
	for _, v := range vals {
		if len(v) >= minSecretLen && !r.raw[v] {
			r.raw[v] = true
			delete(r.words, v) // replaced everywhere now
			changed = true
		}
	}
	return changed
}

// rebuild stores a new snapshot of the registered values.
func (r *Redactor) rebuild() {
	n := &needles{}
	seen := map[string]bool{}
	for v := range r.raw {
		n.raw = append(n.raw, []byte(v))
		for _, x := range variants(v) {
			if !seen[x] {
				seen[x] = true
				n.strs = append(n.strs, x)
			}
		}
	}
	for v := range r.words {
		for _, x := range variants(v) {
			if !seen[x] {
				seen[x] = true
				n.words = append(n.words, x)
			}
		}
	}
	longestFirst := func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	}
	slices.SortFunc(n.strs, longestFirst)
	slices.SortFunc(n.words, longestFirst)
	for _, s := range n.strs {
		n.variants = append(n.variants, []byte(s))
	}
	r.list.Store(n)
}

// variants are the spellings of v that text may carry: as is, JSON-escaped
// (with and without HTML escaping) and URL-escaped (query and path).
func variants(v string) []string {
	out := []string{v}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			s := strings.TrimSuffix(b.String(), "\n")
			out = append(out, s[1:len(s)-1])
		}
	}
	return append(out, url.QueryEscape(v), url.PathEscape(v))
}

// Redact returns s with every registered credential replaced by
// [REDACTED] (a URL's word-like secret only inside a URL written in s:
// AddURL). A nil Redactor returns s.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	n := r.list.Load()
	for _, x := range n.strs {
		if strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, Redacted)
		}
	}
	if len(n.words) > 0 {
		s = redact.InURLs(s, func(u string) string {
			for _, x := range n.words {
				u = strings.ReplaceAll(u, x, Redacted)
			}
			return u
		})
	}
	return s
}

// Holds reports whether b contains a registered credential as is (not
// escaped): used on response bodies, which are kept byte-exact.
func (r *Redactor) Holds(b []byte) bool {
	if r == nil {
		return false
	}
	for _, x := range r.list.Load().raw {
		if bytes.Contains(b, x) {
			return true
		}
	}
	return false
}

// Err returns err with its message redacted. The result still matches
// what err matches (errors.Is, errors.As), but prints without the
// credentials; err itself is returned when its message holds none.
func (r *Redactor) Err(err error) error {
	if r == nil || err == nil {
		return err
	}
	msg := err.Error()
	if red := r.Redact(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

// redactedError prints a redacted message and unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Header returns h with every value redacted; h itself when none holds a
// credential.
func (r *Redactor) Header(h http.Header) http.Header {
	if r == nil {
		return h
	}
	var out http.Header
	for k, vs := range h {
		for i, v := range vs {
			if red := r.Redact(v); red != v {
				if out == nil {
					out = make(http.Header, len(h))
					for k2, vs2 := range h {
						out[k2] = slices.Clone(vs2)
					}
				}
				out[k][i] = red
			}
		}
	}
	if out == nil {
		return h
	}
	return out
}

// Handler wraps h so that every record's message and attributes (strings,
// errors, Stringers, in groups too) are redacted before h sees them.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &redactHandler{h: h, r: r}
}

type redactHandler struct {
	h slog.Handler
	r *Redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.r.attr(a)
	}
	return &redactHandler{h: h.h.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: h.h.WithGroup(name), r: h.r}
}

// attr redacts one attribute.
func (r *Redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, x := range g {
			red[i] = r.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, r.Redact(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, r.Redact(x.String()))
		case []byte:
			return slog.String(a.Key, r.Redact(string(x)))
		default:
			// Anything else as the handler would print it, only when that
			// holds a credential.
			if s := fmt.Sprint(x); r.Redact(s) != s {
				return slog.String(a.Key, r.Redact(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
