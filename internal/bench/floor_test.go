package bench

import (
	"testing"
	"time"
)

// TestMedianRun: the ledger floor of several runs is their median, not
// the first (medianFloor wants a method per run; runs of one method are
// laid out so).
func TestMedianRun(t *testing.T) {
	runs := []FloorRun{{Wall: 9 * time.Second}, {Wall: 3 * time.Second}, {Wall: 5 * time.Second}}
	if got := medianRun(runs); got.Wall != 5*time.Second {
		t.Errorf("median of 9, 3, 5 s: %s", got.Wall)
	}
	if got := medianRun(nil); got.Wall != 0 {
		t.Errorf("median of no runs: %+v", got)
	}
}
