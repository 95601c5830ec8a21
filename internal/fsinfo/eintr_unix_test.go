//go:build unix

package fsinfo

import (
	"syscall"
	"testing"
)

func TestIgnoringEINTR(t *testing.T) {
	// Interrupted twice, then an answer: three calls, the answer.
	calls := 0
	n, err := IgnoringEINTR2(func() (int, error) {
		calls++
		if calls < 3 {
			return -1, syscall.EINTR
		}
		return 7, nil
	})
	if n != 7 || err != nil || calls != 3 {
		t.Errorf("IgnoringEINTR2 = %d, %v after %d calls; want 7, nil after 3", n, err, calls)
	}
	// Any other error ends it at once.
	calls = 0
	err = IgnoringEINTR(func() error {
		calls++
		return syscall.EAGAIN
	})
	if err != syscall.EAGAIN || calls != 1 {
		t.Errorf("IgnoringEINTR = %v after %d calls; want EAGAIN after 1", err, calls)
	}
}
