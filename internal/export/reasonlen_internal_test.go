package export

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
)

// TestReasonsWithin300: every reason an attachment past the 30 days can
// be recorded with — the first answer, the same again settled
// (settledAgain), a copy's url refused again (refusedAgain) — stays
// within 300 bytes, whatever the storage host's words, and keeps the
// Recordings answer whole, with how the copy was matched and what was
// served; only the host's words are cut, or left out when no room is
// left for them to say anything. Before (review-commits4 L2, the part
// 04589cf left), a copy matched by name that served other bytes was
// recorded with 305 bytes and settled with 365, and copies alike none of
// which was it settled with 355: the 40 bytes kept of the host's words
// pushed the answer past the bound.
func TestReasonsWithin300(t *testing.T) {
	one := servedNote([][]byte{[]byte("a")})
	set := servedNote([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	answers := map[string]string{
		"copy not good, matched by name": recordingsCopyNotGood + ": " + one + " (" + recordingsMatchedByName + ")",
		"copy not good":                  recordingsCopyNotGood + ": " + one,
		"copies alike, none good":        recordingsCopiesNoneGood + ": " + set,
		"too many alike":                 recordingsCopiesTooMany + " (123456 copies, 123455 downloaded within 1024 MiB and 15m0s)",
		"copy refused, matched by name":  recordingsCopyRefused + " (" + recordingsMatchedByName + ")",
		"forbidden":                      recordingsForbidden,
		"no copy matched":                recordingsNoCopyMatched,
	}
	for _, msgLen := range []int{0, 10, 60, 150, 300} {
		var host string
		if msgLen > 0 {
			_, host, _ = mediaFailure(&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: strings.Repeat("x", msgLen)}})
		}
		for name, none := range answers {
			check := func(what, reason, tail string) {
				t.Helper()
				if len(reason) > maxReason || !strings.HasSuffix(reason, tail) {
					t.Errorf("%s, host message %d bytes, %s: %d bytes, want at most %d ending %q: %q", name, msgLen, what, len(reason), maxReason, tail, reason)
				}
				if h := strings.TrimSuffix(reason, tail); h != "" && !strings.HasPrefix(h, "403 Forbidden: AccessDenied") {
					t.Errorf("%s, host message %d bytes, %s: the host's words cut to %q", name, msgLen, what, h)
				}
			}
			first := withAnswer(host, none)
			check("first", first, none)
			if s, ok := settledAgain(first, first); ok {
				check("settled", s, none+"; "+recordingsSameAgain)
			}
			if strings.Contains(none, recordingsCopyRefused) {
				check("refused again", refusedAgain(first), none+"; "+recordingsCopyRefusedAgain)
			}
		}
	}
	// A host message short enough is kept whole beside the longest
	// answer's first recording.
	if r := withAnswer("404 Not Found: NoSuchKey", answers["copy not good, matched by name"]); !strings.HasPrefix(r, "404 Not Found: NoSuchKey; ") {
		t.Errorf("a short host message not kept: %q", r)
	}
}
