package export

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
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
