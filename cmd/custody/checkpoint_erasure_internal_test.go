package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestErasureSummaryDiffs: what checkpoint --erasure shows before it
// vouches for an erasure names each recorded diff whose findings
// objects the erasure deleted, with how many: vouching turns them from
// missing into erased, and that diff can no longer be read whole. Before,
// only the JSON said so.
func TestErasureSummaryDiffs(t *testing.T) {
	var b bytes.Buffer
	writeErasureSummary(&b, &erase.ErasureSummary{
		Seq: 610, At: time.Date(2026, 12, 7, 9, 59, 20, 0, time.UTC), Operator: "dpo", Reason: "DSR-X",
		Conversations: []string{"c1"}, ObjectsDeleted: 9,
		Diffs: []leaf.ErasedDiff{
			{Seq: 41, RunID: "diff-20261207T0900Z", Findings: []string{strings.Repeat("a", 64), strings.Repeat("b", 64)}, Why: "names conversation c1"},
			{Seq: 52, RunID: "diff-20261207T0930Z", Findings: []string{strings.Repeat("c", 64)}, Why: "names conversation c1"},
		},
	})
	for _, want := range []string{
		"\n  diff            entry 41, run diff-20261207T0900Z: 2 findings objects deleted\n",
		"\n  diff            entry 52, run diff-20261207T0930Z: 1 findings object deleted\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, b.String())
		}
	}
}
