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

// TestURLWordsSurvive: a URL's secret that could be an ordinary word
// ("frag", "with", "ledger") is taken out where the URL is written, not
// out of the words of the text around it; one that could not be a word
// still goes wherever it appears.
func TestURLWordsSurvive(t *testing.T) {
	for _, tc := range []struct{ url, text, want string }{
		{"http://127.0.0.1:36677/#frag",
			`checkpoint: --tsa: tsa: "http://127.0.0.1:36677/#frag": a URL with user info, a query or a fragment`,
			`checkpoint: --tsa: tsa: "http://127.0.0.1:36677/#[REDACTED]": a URL with user info, a query or a fragment`},
		{"http://127.0.0.1:36677/#with",
			`Post "http://127.0.0.1:36677/#with": a URL with user info`,
			`Post "http://127.0.0.1:36677/#[REDACTED]": a URL with user info`},
		{"http://127.0.0.1:36677/#ledger",
			"it would be written into the ledger, reports and proof files (http://127.0.0.1:36677/#ledger)",
			"it would be written into the ledger, reports and proof files (http://127.0.0.1:36677/#[REDACTED])"},
		{"http://u:Secret@127.0.0.1:1/?year=2024",
			"2024-01-01: Get http://u:Secret@127.0.0.1:1/?year=2024 failed; Secret santa",
			"2024-01-01: Get http://[REDACTED]@127.0.0.1:1/?[REDACTED] failed; Secret santa"},
		{"http://127.0.0.1:1/?k=a1b2c3", "k a1b2c3 leaked", "k [REDACTED] leaked"},
	} {
		r := NewRedactor()
		r.AddURL(tc.url)
		if got := r.Redact(tc.text); got != tc.want {
			t.Errorf("AddURL(%q): Redact(%q)\n = %q\nwant %q", tc.url, tc.text, got, tc.want)
		}
		if r.Holds([]byte("an ordinary body with a ledger, a fragment and 2024 in it")) {
			t.Errorf("AddURL(%q): a body of ordinary words holds a credential", tc.url)
		}
	}
}
