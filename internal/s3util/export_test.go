package s3util

import "time"

// SetMaxBackoff shortens the wait between attempts for a test; the
// function it returns restores it.
func SetMaxBackoff(d time.Duration) (restore func()) {
	old := maxBackoff
	maxBackoff = d
	return func() { maxBackoff = old }
}
