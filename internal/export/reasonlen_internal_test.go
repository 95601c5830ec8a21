package export

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
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

// TestReasonsUTF8Within300: a storage host's words in characters of
// several bytes (a localized message) are cut on a character boundary,
// so every reason is valid UTF-8, within 300 bytes, and recorded as
// built. Before (review-commits5 L2), the cut split a character, which
// the JSON encoder wrote as U+FFFD: the recorded reason was 302 bytes
// and not the one built; and a reason without an answer (a refusal
// within the 30 days) was cut to 300 bytes before the "…", 303 in all.
func TestReasonsUTF8Within300(t *testing.T) {
	stored := func(reason string) string {
		t.Helper()
		raw, err := leaf.EncodeDetail(&leaf.MessageDetail{Media: []leaf.MediaRef{{ID: "a", Status: leaf.MediaRefused, Reason: reason}}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(leaf.KindMessage, raw)
		if err != nil {
			t.Fatal(err)
		}
		return d.(*leaf.MessageDetail).Media[0].Reason
	}
	check := func(what, reason string) {
		t.Helper()
		if len(reason) > maxReason || !utf8.ValidString(reason) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v: %q", what, len(reason), utf8.ValidString(reason), reason)
		}
		if s := stored(reason); s != reason {
			t.Errorf("%s: recorded as %q (%d bytes), built %q (%d bytes)", what, s, len(s), reason, len(reason))
		}
	}
	answers := []string{
		recordingsCopyRefused,
		recordingsCopyNotGood + ": " + servedNote([][]byte{[]byte("a")}) + " (" + recordingsMatchedByName + ")",
		recordingsCopiesNoneGood + ": " + servedNote([][]byte{[]byte("a"), []byte("b")}),
		recordingsForbidden,
	}
	for _, char := range []string{"é", "€", "😀"} {
		for pad := 0; pad < 4; pad++ {
			msg := strings.Repeat("x", pad) + strings.Repeat(char, 400/len(char))
			_, direct, _ := mediaFailure(&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: msg}})
			name := fmt.Sprintf("%q, pad %d", char, pad)
			check(name+", no answer", direct)
			_, wait, _ := mediaFailure(&fetch.APIError{Status: 429, Body: genesys.ErrorBody{Code: msg}})
			check(name+", 429", wait)
			for _, host := range []string{msg, direct} {
				for _, none := range answers {
					first := withAnswer(host, none)
					check(name+", "+none, first)
					if s, ok := settledAgain(first, first); ok {
						check(name+", settled, "+none, s)
					}
					if strings.Contains(none, recordingsCopyRefused) {
						check(name+", refused again", refusedAgain(first))
					}
				}
			}
		}
	}
	// Bytes that are not UTF-8 at all are recorded as built too.
	_, bad, _ := mediaFailure(&fetch.APIError{Status: 403, Body: genesys.ErrorBody{Message: strings.Repeat("\xff", 400)}})
	check("not UTF-8", bad)
}
