//go:build !linux

package bench

// FileSystem names the file system dir is on; outside Linux it is not
// known.
func FileSystem(dir string) string { return "unknown" }
