package report

import (
	"testing"

	"github.com/custodyhq/custody/internal/finding"
)

// TestSeverityComplete: every kind of the finding table has a severity,
// so a kind added there cannot reach a report unranked.
func TestSeverityComplete(t *testing.T) {
	for _, in := range finding.Kinds() {
		if severity(in.Kind) == "" {
			t.Errorf("finding kind %s has no severity in the report", in.Kind)
		}
	}
	if severity("no_such_kind") != "" {
		t.Error("an unknown kind has a severity")
	}
}
