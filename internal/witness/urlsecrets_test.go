package witness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestAddCheckpointURLSecrets: the errors of AddCheckpoint name the
// witness without the user info, query or fragment of its URL — also
// where net/http quotes the URL.
func TestAddCheckpointURLSecrets(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	refuses := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusForbidden) }))
	defer refuses.Close()
	for _, base := range []string{
		strings.Replace(down.URL, "http://", "http://u:S3CR3TPW@", 1) + "/w?key=QS-SECRET",
		refuses.URL + "/w#FRAG-SECRET",
	} {
		_, err := (&Client{}).AddCheckpoint(context.Background(), base, []byte("note\n"), func(uint64) ([]hashchain.Hash, error) { return nil, nil })
		if err == nil {
			t.Fatalf("AddCheckpoint(%q) = nil", base)
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("AddCheckpoint(%q): %v names not the witness", base, err)
		}
		for _, s := range []string{"S3CR3TPW", "QS-SECRET", "FRAG-SECRET"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("AddCheckpoint(%q): %v", base, err)
			}
		}
	}
}
