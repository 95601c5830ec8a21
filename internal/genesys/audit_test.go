package genesys

import (
	"strings"
	"testing"
)

// TestValidAuditServiceName: every service name Genesys has given (a
// sample of the Python SDK 257's serviceName enums) is accepted; an empty
// name, white space, punctuation, a leading digit or a name too long is
// not.
func TestValidAuditServiceName(t *testing.T) {
	for _, s := range []string{"Quality", "ContactCenter", "PeoplePermissions", "GDPR", "SCIM", "DSAR",
		"RecordingService", "RecordingPlaybackService", "ExternalContactsExport", "NerService", "OutdatedSdkVersion", "q1"} {
		if !ValidAuditServiceName(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", " ", " Quality", "Quality ", "Recording Service", "Quality/x", "Quality\n", "9Quality",
		"Qualité", "quality-service", strings.Repeat("Q", MaxAuditServiceName+1)} {
		if ValidAuditServiceName(s) {
			t.Errorf("%q accepted", s)
		}
	}
	if !ValidAuditServiceName(strings.Repeat("Q", MaxAuditServiceName)) {
		t.Errorf("a name of %d letters refused", MaxAuditServiceName)
	}
}
