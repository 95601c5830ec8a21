package redact

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The secrets the shapes below carry: none may survive URL.
var secrets = []string{"S3CR3TPW", "QS-SECRET", "SIGNATURE", "AKIAEXAMPLE", "FRAGTOKEN", "USERTOKEN"}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "https://api.mypurecloud.ie", "https://api.mypurecloud.ie"},
		{"path and port", "http://127.0.0.1:8080/prefix/", "http://127.0.0.1:8080/prefix/"},
		{"user and password", "http://admin:S3CR3TPW@127.0.0.1:37027/", "http://[REDACTED]@127.0.0.1:37027/"},
		{"user and password, query", "http://admin:S3CR3TPW@127.0.0.1:37027/?token=QS-SECRET", "http://[REDACTED]@127.0.0.1:37027/?[REDACTED]"},
		{"token as user name", "https://USERTOKEN@tsa.example/tsr", "https://[REDACTED]@tsa.example/tsr"},
		{"query only", "https://tsa.example/tsr?apikey=QS-SECRET", "https://tsa.example/tsr?[REDACTED]"},
		{"bare query", "https://tsa.example/tsr?QS-SECRET", "https://tsa.example/tsr?[REDACTED]"},
		{"empty query", "https://tsa.example/tsr?", "https://tsa.example/tsr?[REDACTED]"},
		{"pre-signed S3", "https://bucket.s3.amazonaws.com/media/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=SIGNATURE",
			"https://bucket.s3.amazonaws.com/media/a.jpg?[REDACTED]"},
		{"fragment", "https://witness.example/w#FRAGTOKEN", "https://witness.example/w#[REDACTED]"},
		{"everything", "https://u:S3CR3TPW@h:1/p?sig=SIGNATURE#FRAGTOKEN", "https://[REDACTED]@h:1/p?[REDACTED]#[REDACTED]"},
		{"no scheme", "127.0.0.1:9/?token=QS-SECRET", "127.0.0.1:9/?[REDACTED]"},
		{"no scheme, user info", "admin:S3CR3TPW@127.0.0.1:9/x", "[REDACTED]@127.0.0.1:9/x"},
		{"another scheme", "ftp://admin:S3CR3TPW@h/?token=QS-SECRET", "ftp://[REDACTED]@h/?[REDACTED]"},
		{"malformed", "http://admin:S3CR3TPW@[::1/?token=QS-SECRET", "http://[REDACTED]@[::1/?[REDACTED]"},
		{"relative", "/api/v2/downloads/x?sig=SIGNATURE", "/api/v2/downloads/x?[REDACTED]"},
		{"@ in the path", "https://h/users/a@b", "https://h/users/a@b"},
		{"escaped @ in the password", "https://u:S3CR3TPW%40x@h/", "https://[REDACTED]@h/"},
		{"not a URL", "2024-01-01/2024-02-01", "2024-01-01/2024-02-01"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := URL(tc.in)
			if got != tc.want {
				t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("URL(%q) = %q keeps %s", tc.in, got, s)
				}
			}
			if Has(tc.in) != (got != tc.in) {
				t.Errorf("Has(%q) = %v", tc.in, Has(tc.in))
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // among them
		none bool
	}{
		{in: "http://admin:S3CR3TPW@127.0.0.1:1/?token=QS-SECRET", want: []string{"S3CR3TPW", "admin:S3CR3TPW", "token=QS-SECRET", "QS-SECRET"}},
		{in: "https://USERTOKEN@h/", want: []string{"USERTOKEN"}},
		{in: "https://h/?a=b%2Fc&QS-SECRET", want: []string{"b/c", "QS-SECRET", "a=b%2Fc&QS-SECRET"}},
		{in: "https://h/#FRAGTOKEN", want: []string{"FRAGTOKEN"}},
		{in: "https://h/p", none: true},
		{in: "what? yes", none: true},
		{in: "127.0.0.1:9/?token=QS-SECRET", none: true}, // not absolute: shown through URL, never registered
	} {
		got := Secrets(tc.in)
		if tc.none && len(got) != 0 {
			t.Errorf("Secrets(%q) = %q, want none", tc.in, got)
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("Secrets(%q) = %q, want %q among them", tc.in, got, w)
			}
		}
	}
}

func TestError(t *testing.T) {
	inner := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	ue := &url.Error{Op: "Post", URL: "http://u:***@127.0.0.1:9/tsr?key=QS-SECRET", Err: inner}
	err := Error(fmt.Errorf("tsa: %s: unavailable: %w", URL("http://u:S3CR3TPW@127.0.0.1:9/tsr?key=QS-SECRET"), ue))
	want := `tsa: http://[REDACTED]@127.0.0.1:9/tsr?[REDACTED]: unavailable: Post "http://[REDACTED]@127.0.0.1:9/tsr?[REDACTED]": dial tcp 127.0.0.1:9: connect: connection refused`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !errors.Is(err, inner) {
		t.Error("the redacted error no longer matches its cause")
	}
	if Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
}

func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://u:p@h:1/p?q=1#f", "h:1/?t", "//h/?x", "a@b/c?d#e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := URL(s)
		// Nothing after the first ? or # survives, and no user info.
		if i := strings.IndexAny(s, "?#"); i >= 0 && strings.Contains(got, s[i:]) && s[i+1:] != "" && !strings.Contains(Placeholder, s[i+1:]) {
			t.Fatalf("URL(%q) = %q keeps %q", s, got, s[i:])
		}
		if URL(got) != got {
			t.Fatalf("URL is not idempotent on %q: %q then %q", s, got, URL(got))
		}
	})
}

func TestWordLike(t *testing.T) {
	for v, want := range map[string]bool{
		"with": true, "ledger": true, "frag": true, "Fragment": true, "PWKEEP": true, "2024": true, "héllo": true,
		"S3CR3TPW": false, "QS-SECRET": false, "a/b+c": false, "QsKeep": false, "a1b2": false, "": false,
		"abcdefghijklmnop": false, // long enough to be a token
	} {
		if got := WordLike(v); got != want {
			t.Errorf("WordLike(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestURLsIn(t *testing.T) {
	for in, want := range map[string]string{
		`tsa: https://a:PW@tsa.example/?key=QS: unavailable: Post "https://a:***@tsa.example/?key=QS": dial tcp`: `tsa: https://[REDACTED]@tsa.example/?[REDACTED] unavailable: Post "https://[REDACTED]@tsa.example/?[REDACTED]": dial tcp`,
		"no URL here: with a fragment":        "no URL here: with a fragment",
		"see <http://h/p#frag> and `ftp://x`": "see <http://h/p#[REDACTED]> and `ftp://x`",
	} {
		if got := URLsIn(in); got != want {
			t.Errorf("URLsIn(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

func TestFoldCase(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://TSA.Example:8080/Path/X?Key=K#Frag":   "http://tsa.example:8080/Path/X?Key=K#Frag",
		"https://U:PW@Host.Example/x":                 "https://U:PW@host.example/x",
		"https://[REDACTED]@TSA.Example/x?[REDACTED]": "https://[REDACTED]@tsa.example/x?[REDACTED]",
		"http://127.0.0.1:1/tsr":                      "http://127.0.0.1:1/tsr",
		"HTTP://h#a?b":                                "http://h#a?b",
	} {
		if got := FoldCase(in); got != want {
			t.Errorf("FoldCase(%q) = %q, want %q", in, got, want)
		}
	}
}
