package fetch

import (
	"errors"
	"strings"
	"testing"
)

// TestURLSecretsNotShown: an API or login URL New refuses is named
// without its user info, query or fragment, and a Redactor told a URL
// (AddURL) takes its secrets out of any text, however quoted.
func TestURLSecretsNotShown(t *testing.T) {
	secrets := []string{"S3CR3TPW", "QS-SECRET", "FRAG-SECRET"}
	for _, u := range []string{
		"http://admin:S3CR3TPW@127.0.0.1:37027/?token=QS-SECRET",
		"http://127.0.0.1:1/?token=QS-SECRET",
		"https://api.example/#FRAG-SECRET",
		"ftp://admin:S3CR3TPW@h/?token=QS-SECRET",
	} {
		for _, cfg := range []Config{{APIURL: u, LoginURL: "http://127.0.0.1:1"}, {APIURL: "http://127.0.0.1:1", LoginURL: u}} {
			cfg.ClientID, cfg.ClientSecret = "id", "secret-value"
			_, err := New(cfg)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("New(%q): %v", u, err)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("New(%q): %v", u, err)
				}
			}
		}
	}
	r := NewRedactor()
	r.AddURL("http://u:S3CR3TPW@127.0.0.1:1/?k=QS-SECRET&sig=a%2Fb%2Bc#FRAG-SECRET")
	r.AddURL("2024-01-01/2024-02-01") // not a URL: nothing
	for _, text := range []string{
		"Custom endpoint `http://u:S3CR3TPW@127.0.0.1:1/?k=QS-SECRET` was not a valid URI",
		`{"endpoint":"http://u:S3CR3TPW@127.0.0.1:1/?k=QS-SECRET\u0026sig=a%2Fb%2Bc"}`,
		"signed a/b+c, fragment FRAG-SECRET",
	} {
		got := r.Redact(text)
		for _, s := range append(secrets, "a/b+c", "a%2Fb%2Bc") {
			if strings.Contains(got, s) {
				t.Errorf("Redact(%q) = %q keeps %s", text, got, s)
			}
		}
	}
	if got := r.Redact("interval 2024-01-01/2024-02-01"); got != "interval 2024-01-01/2024-02-01" {
		t.Errorf("Redact of text without secrets: %q", got)
	}
}
