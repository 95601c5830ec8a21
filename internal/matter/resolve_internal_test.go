package matter

import (
	"errors"
	"slices"
	"testing"
)

// TestResolveURLsCase: a URL to remove names a stored one whatever the
// case of its scheme and host (which name the same place), not of its
// path (which may not); a stored URL with secrets is named as custody
// shows it too.
func TestResolveURLsCase(t *testing.T) {
	named := []string{"http://127.0.0.1:1/tsr", "https://u:pw@tsa.example/x?key=k"}
	for _, tc := range []struct {
		given string
		want  string
	}{
		{"http://127.0.0.1:1/tsr", "http://127.0.0.1:1/tsr"},
		{"HTTP://127.0.0.1:1/tsr", "http://127.0.0.1:1/tsr"},
		{"https://[REDACTED]@TSA.Example/x?[REDACTED]", "https://u:pw@tsa.example/x?key=k"},
		{"http://127.0.0.1:1/TSR", ""},
	} {
		got, err := resolveURLs(named, []string{tc.given}, "timestamp authority")
		switch {
		case tc.want == "" && !errors.Is(err, ErrNotConfigured):
			t.Errorf("%s: %v %v, want ErrNotConfigured", tc.given, got, err)
		case tc.want != "" && (err != nil || !slices.Equal(got, []string{tc.want})):
			t.Errorf("%s: %v %v, want %s", tc.given, got, err, tc.want)
		}
	}
}
