package produce

import (
	"testing"

	"github.com/custodyhq/custody/internal/production"
)

// TestDescribeSelection: a recorded selection is said as produce's flags
// that ask for it, so that the operator can run that produce again.
func TestDescribeSelection(t *testing.T) {
	for _, tc := range []struct {
		s    production.Selection
		want string
	}{
		{production.Selection{}, "everything"},
		{production.Selection{Conversations: []string{}}, "everything"},
		{production.Selection{Conversations: []string{"c1", "c2"}}, "--conversation c1 --conversation c2"},
		{production.Selection{Conversations: []string{"c1"}, Interval: "2024-01-01/2024-02-01", LegalHoldOnly: true, DiffRunID: "diff-1"},
			"--conversation c1 --interval 2024-01-01/2024-02-01 --legal-hold-only --diff diff-1"},
		{production.Selection{LegalHoldOnly: true}, "--legal-hold-only"},
	} {
		if got := describeSelection(tc.s); got != tc.want {
			t.Errorf("describeSelection(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
