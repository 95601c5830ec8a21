package evidence_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
)

// TestRequestsFlag: a --…-requests value is a whole number from 1 to
// MaxRequests (with Auto, "auto" too); above it is refused at parse time,
// where --folder-requests 1000000000000 started a worker a request and
// ran out of memory.
func TestRequestsFlag(t *testing.T) {
	for _, auto := range []bool{false, true} {
		for _, tc := range []struct {
			in   string
			want int // -1: refused
		}{
			{"1", 1}, {"64", 64}, {strconv.Itoa(evidence.MaxRequests), evidence.MaxRequests},
			{strconv.Itoa(evidence.MaxRequests + 1), -1}, {"100000000", -1}, {"1000000000000", -1},
			{"99999999999999999999", -1}, {"0", -1}, {"-1", -1}, {"many", -1},
		} {
			n := 7
			err := evidence.RequestsFlag{N: &n, Auto: auto}.Set(tc.in)
			switch {
			case tc.want < 0 && err == nil:
				t.Errorf("auto %v: Set(%q) = nil, n %d; want a refusal", auto, tc.in, n)
			case tc.want < 0 && !strings.Contains(err.Error(), "1 to "+strconv.Itoa(evidence.MaxRequests)):
				t.Errorf("auto %v: Set(%q): %v; want it to name the range", auto, tc.in, err)
			case tc.want >= 0 && (err != nil || n != tc.want):
				t.Errorf("auto %v: Set(%q) = %v, n %d; want %d", auto, tc.in, err, n, tc.want)
			}
		}
	}
}

// bigStore asks for more requests in flight than anyone should start.
type bigStore struct {
	evidence.Store
	n int
}

func (s bigStore) Parallelism() int { return s.n }

// TestParallelismCeiling: whatever a store asks for, readers and writers
// of many objects start at most MaxRequests workers.
func TestParallelismCeiling(t *testing.T) {
	f, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ n, want int }{{0, 1}, {5, 5}, {evidence.MaxRequests, evidence.MaxRequests}, {1 << 40, evidence.MaxRequests}} {
		if got := evidence.Parallelism(evidence.ReadOnly(bigStore{f, tc.n})); got != tc.want {
			t.Errorf("a store asking for %d: Parallelism %d, want %d", tc.n, got, tc.want)
		}
	}
}
