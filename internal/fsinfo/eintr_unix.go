//go:build unix

package fsinfo

import "syscall"

// IgnoringEINTR calls fn again for as long as a signal interrupts it, as
// the os package does around its own system calls: the Go runtime's
// preemption signals interrupt slow calls, on network file systems above
// all. For the readers that make bare system calls (one per step, for
// speed); fn's error is a bare syscall.Errno.
func IgnoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}

// IgnoringEINTR2 is IgnoringEINTR for a call that returns a value too.
func IgnoringEINTR2[T any](fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if err != syscall.EINTR {
			return v, err
		}
	}
}
