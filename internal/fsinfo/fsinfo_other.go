//go:build !linux && !darwin && !windows

package fsinfo

// remoteAt cannot tell here: every path is taken for local.
func remoteAt(string) (string, bool) { return "", false }
