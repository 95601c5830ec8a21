package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Placeholder replaces what is redacted (the same as fetch.Redacted).
const Placeholder = "[REDACTED]"

// URL returns s with its user info, query and fragment each replaced by
// Placeholder: "https://[REDACTED]@host/path?[REDACTED]#[REDACTED]". The
// scheme, host, port and path stay, to say which server was meant. It
// works on the text, not on a parse, so a malformed URL or one without
// a scheme ("host:8080/?token=…") loses its secrets too; s without any
// of the three comes back unchanged.
func URL(s string) string {
	rest, _, hasFrag := strings.Cut(s, "#")
	rest, _, hasQuery := strings.Cut(rest, "?")
	var b strings.Builder
	scheme, auth, path := split(rest)
	b.WriteString(scheme)
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		b.WriteString(Placeholder)
		b.WriteString(auth[at:])
	} else {
		b.WriteString(auth)
	}
	b.WriteString(path)
	if hasQuery {
		b.WriteString("?" + Placeholder)
	}
	if hasFrag {
		b.WriteString("#" + Placeholder)
	}
	return b.String()
}

// FoldCase returns s with its scheme and host in lower case, which name
// the same place whatever their case (RFC 3986, 6.2.2.1); user info,
// path, query and fragment stay as they are. It reads s as URL does, on
// the text: the form URL shows ("[REDACTED]" in the user info) does not
// parse, and is folded too.
func FoldCase(s string) string {
	end := strings.IndexAny(s, "?#")
	if end < 0 {
		end = len(s)
	}
	scheme, auth, path := split(s[:end])
	user, host := "", auth
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, host = auth[:at+1], auth[at+1:]
	}
	return strings.ToLower(scheme) + user + strings.ToLower(host) + path + s[end:]
}

// split cuts a URL without query or fragment into its scheme with "//"
// ("https://", or "" when it has none), its authority (user info and
// host) and the path that follows.
func split(s string) (scheme, auth, path string) {
	if i := strings.Index(s, "//"); i >= 0 && !strings.ContainsAny(s[:i], "/@") {
		scheme, s = s[:i+2], s[i+2:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return scheme, s[:i], s[i:]
	}
	return scheme, s, ""
}

// Has reports whether s carries user info, a query or a fragment: what
// URL would take out.
func Has(s string) bool { return URL(s) != s }

// Secrets lists the secret values s carries as a URL, raw and decoded:
// the user info's password (or the user name when there is no password:
// a token given as one), the query and each of its values, and the
// fragment. Empty for text that is not an absolute URL (scheme and
// host), so that ordinary flag values ("what? yes") give none.
func Secrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		} else {
			out = append(out, u.User.Username())
		}
		if _, auth, _ := split(s); strings.Contains(auth, "@") {
			out = append(out, auth[:strings.LastIndexByte(auth, '@')])
		}
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery)
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			for k, vs := range q {
				for _, v := range vs {
					if v == "" {
						v = k // a bare "?token"
					}
					out = append(out, v)
				}
			}
		}
	}
	if u.Fragment != "" {
		out = append(out, u.Fragment, u.EscapedFragment())
	}
	return out
}

// urlInText is a URL written in text: a scheme, "://" and what follows
// up to a space, a quote, a bracket of markup or a backtick.
var urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")

// InURLs returns s with each URL written in it (a scheme, "://", and the
// characters up to a space, a quote, "<", ">" or a backtick) replaced by
// f of it: where a value taken from a URL is in URL context.
func InURLs(s string, f func(u string) string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, f)
}

// URLsIn returns s with every URL written in it redacted by URL: text
// that names URLs it was not given as such (an error an older custody
// stored, quoting the URL as net/http does).
func URLsIn(s string) string { return InURLs(s, URL) }

// maxWordLen: a secret this long or longer is not taken for a word.
const maxWordLen = 16

// WordLike reports whether v could be an ordinary word or number of
// text — "with", "ledger", "Fragment", "2024" — rather than only a
// secret: letters in one case (or capitalised), or digits alone, shorter
// than 16 bytes. A URL's secret that is word-like is redacted only where
// the URL is written (InURLs), so that the word survives elsewhere; any
// other ("S3CR3TPW", "QS-SECRET", "a/b+c") wherever it appears.
func WordLike(v string) bool {
	if v == "" || len(v) >= maxWordLen {
		return false
	}
	digits, lower, upper := 0, 0, 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLower(r):
			lower++
		case unicode.IsUpper(r):
			if i > 0 {
				upper++
			}
		default:
			return false
		}
	}
	n := len([]rune(v))
	switch {
	case digits == n:
		return true
	case digits > 0:
		return false
	case upper == 0: // lower case, or capitalised
		return true
	default: // upper case (its first letter uncounted)
		return lower == 0
	}
}

// Error returns err with the URL of each *url.Error in its chain (the
// error of an http.Client call, whose message repeats the URL with its
// query: a signature, a key) redacted by URL, wherever the chain's
// message repeats it. The result matches what err matches (errors.Is,
// errors.As); err itself is returned when there is nothing to redact.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := msg
	for e := err; e != nil; {
		var ue *url.Error
		if !errors.As(e, &ue) {
			break
		}
		if r := URL(ue.URL); r != ue.URL {
			red = strings.ReplaceAll(red, strconv.Quote(ue.URL), strconv.Quote(r))
			red = strings.ReplaceAll(red, ue.URL, r)
			ue.URL = r
		}
		e = ue.Err
	}
	if red == msg {
		return err
	}
	return &redacted{msg: red, err: err}
}

// redacted prints a redacted message and unwraps to the original.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
