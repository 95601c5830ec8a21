package export

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestSettledReasonKeepsAnswer: a copy's url refused the same way by a
// later run is settled with only the host's words cut: the Recordings
// answer and how the copy was matched stay whole, within 300 bytes —
// before, the whole reason was cut, losing them (commit review 4, L2;
// from its TestRevSettledReasonTruncation).
func TestSettledReasonKeepsAnswer(t *testing.T) {
	for _, msgLen := range []int{20, 120, 200, 260, 400} {
		err := &fetch.APIError{Status: 403, Body: genesys.ErrorBody{Code: "AccessDenied", Message: strings.Repeat("x", msgLen)}}
		_, host, _ := mediaFailure(err)
		none := recordingsCopyRefused + " (" + recordingsMatchedByName + ")"
		reason := withAnswer(host, none) // fetchMediaKeeping
		settled := refusedAgain(reason)  // mediaAgain
		if !strings.HasSuffix(settled, "; "+none+"; "+recordingsCopyRefusedAgain) || !strings.HasPrefix(settled, "403 Forbidden: AccessDenied") || len(reason) > 300 || len(settled) > 300 {
			t.Errorf("host message %d bytes: first %q (%d bytes), settled %q", msgLen, reason, len(reason), settled)
		}
	}
}

// TestSettledAgain: the very same answer with what was served said ends
// the tries, keeping the answer whole; another digest, an answer saying
// nothing served, or one settled already does not (commit review 4, M1).
func TestSettledAgain(t *testing.T) {
	host := "fetch: check sha256: sha256 mismatch: " + strings.Repeat("y", 200)
	one := withAnswer(host, recordingsCopyNotGood+": "+servedNote([][]byte{[]byte("a")})+" ("+recordingsMatchedByName+")")
	other := withAnswer(host, recordingsCopyNotGood+": "+servedNote([][]byte{[]byte("b")})+" ("+recordingsMatchedByName+")")
	set := withAnswer("403 Forbidden", recordingsCopiesNoneGood+": "+servedNote([][]byte{[]byte("a"), []byte("b")}))
	setAgain := withAnswer("403 Forbidden: other words", recordingsCopiesNoneGood+": "+servedNote([][]byte{[]byte("b"), []byte("a")}))
	bare := withAnswer("403 Forbidden", recordingsCopiesNoneGood)
	many := withAnswer("403 Forbidden", recordingsCopiesTooMany+" (9 copies, at most 8 downloaded)")
	tooMany := func(copies, downloaded int) string {
		return fmt.Sprintf("%s (%d copies, %d downloaded within 1024 MiB and 15m0s)", recordingsCopiesTooMany, copies, downloaded)
	}
	for name, tc := range map[string]struct {
		prev, now string
		want      bool
	}{
		"same bytes":             {one, one, true},
		"other bytes":            {one, other, false},
		"same set, other order":  {set, setAgain, true},
		"nothing served said":    {bare, bare, false},
		"as many copies again":   {many, many, true},
		"once settled":           {one + "; " + recordingsSameAgain, one + "; " + recordingsSameAgain, false},
		"older reason, no bytes": {withAnswer(host, recordingsCopyNotGood), one, false},
		// Recorded with the note worded as before (the name match's and
		// the digest of several's): the same answer, settled.
		"older wording":        {withAnswer(host, recordingsCopyNotGood+": "+servedNote([][]byte{[]byte("a")})+" (its copy in the conversation's recording matched by file name, size and type, not by id)"), one, true},
		"older wording, a set": {withAnswer("403 Forbidden", recordingsCopiesNoneGood+": "+strings.Replace(servedNote([][]byte{[]byte("a"), []byte("b")}), "of 2 sorted sha256s", "of the 2 sorted sha256 of what they served", 1)), set, true},

		// How many were downloaded rests on the link's speed (the time
		// budget): only the copies' count is compared (review-commits5 L4).
		"as many copies, more downloaded": {withAnswer("403 Forbidden", tooMany(12, 2)), withAnswer("403 Forbidden", tooMany(12, 7)), true},
		"as many copies, older wording":   {many, withAnswer("403 Forbidden", tooMany(9, 3)), true},
		"more copies":                     {withAnswer("403 Forbidden", tooMany(12, 2)), withAnswer("403 Forbidden", tooMany(13, 2)), false},
	} {
		got, ok := settledAgain(tc.prev, tc.now)
		if ok != tc.want {
			t.Errorf("%s: settled %v, want %v", name, ok, tc.want)
			continue
		}
		if !ok {
			continue
		}
		j := strings.LastIndex(tc.now, recordingsCopyNotGood)
		if j < 0 {
			j = strings.LastIndex(tc.now, recordingsCopiesNoneGood)
		}
		if j < 0 {
			j = strings.LastIndex(tc.now, recordingsCopiesTooMany)
		}
		if !strings.HasSuffix(got, tc.now[j:]+"; "+recordingsSameAgain) || len(got) > maxReason {
			t.Errorf("%s: settled %q", name, got)
		}
		if again, _, _ := retryRule(time.Now(), "2020-01-01T00:00:00Z", time.Now(), leaf.MediaRef{Status: leaf.MediaRefused, Reason: got}); again {
			t.Errorf("%s: %q tried again", name, got)
		}
	}
}
