package fsinfo

import (
	"os"
	"path/filepath"
)

// DefaultRequests is how many reads a reader of many files keeps in
// flight on a remote file system: enough to hide a LAN share's round
// trips (docs/evidence.md, "Folders on a network share"), few enough
// for a small file server.
const DefaultRequests = 32

// Remote reports whether path lies on a remote file system, and that
// file system's name (for messages). A path that does not exist yet is
// judged by its nearest existing parent; when nothing can be learnt it is
// not remote, which keeps what custody did before it asked.
func Remote(path string) (name string, remote bool) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(p); err == nil {
			return remoteAt(p)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", false
		}
		p = parent
	}
}

// Requests is the reads to keep in flight on path's file system:
// DefaultRequests when it is remote, else 1 (the caller's own figure for
// a local disk).
func Requests(path string) int {
	if _, remote := Remote(path); remote {
		return DefaultRequests
	}
	return 1
}
