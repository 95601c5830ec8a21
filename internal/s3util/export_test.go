package s3util

import "time"

// SetMaxBackoff shortens the wait between attempts for a test; the
// function it returns restores it.
func SetMaxBackoff(d time.Duration) (restore func()) {
	old := maxBackoff
	maxBackoff = d
	return func() { maxBackoff = old }
}

// SetTimeouts shortens responseTimeout and readIdle for a test; the
// function it returns restores them.
func SetTimeouts(response, idle time.Duration) (restore func()) {
	oldR, oldI := responseTimeout, readIdle
	responseTimeout, readIdle = response, idle
	return func() { responseTimeout, readIdle = oldR, oldI }
}
