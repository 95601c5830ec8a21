package erase

import (
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestDescribeSelection: a production's recorded selection, in an
// erasure's recall reason, counts the conversations it named (there may
// be thousands) and names its other flags as produce does.
func TestDescribeSelection(t *testing.T) {
	for _, tc := range []struct {
		s    leaf.ProductionSelection
		want string
	}{
		{leaf.ProductionSelection{}, "every message"},
		{leaf.ProductionSelection{Conversations: []string{}}, "every message"},
		{leaf.ProductionSelection{Conversations: []string{"c1", "c2"}}, "2 conversations named"},
		{leaf.ProductionSelection{Conversations: []string{"c1"}, Interval: "2024-01-01/2024-02-01", LegalHoldOnly: true, DiffRunID: "diff-1"},
			"1 conversations named, --interval 2024-01-01/2024-02-01, --legal-hold-only, --diff diff-1"},
		{leaf.ProductionSelection{DiffRunID: "diff-1"}, "--diff diff-1"},
	} {
		if got := describeSelection(tc.s); got != tc.want {
			t.Errorf("describeSelection(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
