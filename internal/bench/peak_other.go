//go:build !linux

package bench

// watchPeak is Linux only; elsewhere the caller falls back to getrusage.
func watchPeak(int) (stop func() int64) { return func() int64 { return 0 } }
