//go:build !linux

package slowfs

import (
	"testing"
	"time"
)

// Share is a mounted model share (none here).
type Share struct{ Dir string }

// Peak is 0: nothing is mounted here.
func (*Share) Peak() int { return 0 }

// ResetPeak does nothing here.
func (*Share) ResetPeak() {}

// Mount skips tb: the model needs Linux's FUSE.
func Mount(tb testing.TB, dir string, delay time.Duration) *Share {
	tb.Skip("SKIPPED: the network-share model (slowfs) needs Linux's FUSE")
	return nil
}
