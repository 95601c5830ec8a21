package folder

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// TestEach: every item is called once, with one worker or several; the
// first error is returned, and no call begins after it with one worker.
func TestEach(t *testing.T) {
	for _, workers := range []int{0, 1, 4, 64} {
		for _, n := range []int{0, 1, 7, 100} {
			t.Run(fmt.Sprintf("workers=%d,n=%d", workers, n), func(t *testing.T) {
				calls := make([]atomic.Int32, n)
				if err := each(n, workers, func(k int) error { calls[k].Add(1); return nil }); err != nil {
					t.Fatal(err)
				}
				for k := range calls {
					if c := calls[k].Load(); c != 1 {
						t.Errorf("item %d called %d times", k, c)
					}
				}
			})
		}
	}
	boom := errors.New("boom")
	var called atomic.Int32
	err := each(10, 1, func(k int) error {
		called.Add(1)
		if k == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || called.Load() != 4 {
		t.Errorf("one worker, item 3 failing: %v after %d calls, want boom after 4", err, called.Load())
	}
	err = each(100, 4, func(k int) error {
		if k%10 == 9 {
			return fmt.Errorf("item %d: %w", k, boom)
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("four workers, items failing: %v, want boom", err)
	}
}
