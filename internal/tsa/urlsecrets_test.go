package tsa_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/tsa"
)

// TestURLSecrets: a URL carrying user info, a query or a fragment is
// refused as a new authority (it would be written into the ledger and
// proof files), and one a matter already names is still asked, its errors
// naming it without them — also where net/http quotes the URL.
func TestURLSecrets(t *testing.T) {
	secrets := []string{"S3CR3TPW", "QS-SECRET", "FRAG-SECRET"}
	for _, u := range []string{"http://u:S3CR3TPW@127.0.0.1:1/tsr", "https://tsa.example/tsr?apikey=QS-SECRET", "https://tsa.example/tsr#FRAG-SECRET", "not a url?QS-SECRET"} {
		err := tsa.CheckURL(u)
		if err == nil {
			t.Errorf("CheckURL(%q) = nil", u)
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("CheckURL(%q): %v", u, err)
			}
		}
	}
	if err := tsa.CheckURL("https://tsa.example/tsr"); err != nil {
		t.Errorf("CheckURL of a plain URL: %v", err)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	refused := strings.Replace(down.URL, "http://", "http://u:S3CR3TPW@", 1) + "/tsr?key=QS-SECRET"
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	for _, u := range []string{refused, notFound.URL + "/tsr?key=QS-SECRET#FRAG-SECRET"} {
		_, err := (&tsa.Client{}).Timestamp(context.Background(), u, [32]byte{1})
		if !errors.Is(err, tsa.ErrUnavailable) {
			t.Fatalf("Timestamp(%q) = %v, want unavailable", u, err)
		}
		if !strings.Contains(err.Error(), "?[REDACTED]") {
			t.Errorf("Timestamp(%q): %v names not the authority", u, err)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Timestamp(%q): %v", u, err)
			}
		}
	}
}
