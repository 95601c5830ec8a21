package export

import (
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestStorageHost429Reason: a storage host's 429 is recorded with what it
// did: asked to wait longer than custody does (its Retry-After, or an
// earlier download's, the host not asked again), or kept refusing with
// waits custody made, until the retries ran out. Before (review-commits2
// L5), the second was said to be the first.
func TestStorageHost429Reason(t *testing.T) {
	slow := &fetch.APIError{Status: 429, Body: genesys.ErrorBody{Code: "SlowDown"}}
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"asked a long wait":         {&fetch.StorageWaitError{Method: "GET", Path: "/x", RetryAfter: 10 * time.Minute, Until: time.Now(), Max: 3 * time.Minute, Last: slow}, "asked to wait longer than custody does: SlowDown"},
		"not asked, the wait on":    {&fetch.StorageWaitError{Method: "GET", Path: "/x", Until: time.Now(), Max: 3 * time.Minute}, "asked to wait longer than custody does"},
		"refused after the retries": {slow, "still refused after the retries custody makes: SlowDown"},
	} {
		status, reason, ok := mediaFailure(tc.err)
		if !ok || status != leaf.MediaRefused || !strings.HasPrefix(reason, "429 Too Many Requests: ") || !strings.Contains(reason, tc.want) {
			t.Errorf("%s: %s %q (%v), want refused saying %q", name, status, reason, ok, tc.want)
		}
	}
}
