//go:build darwin

package fsinfo

import "golang.org/x/sys/unix"

// remoteTypes are the f_fstypename of macOS file systems whose reads
// cross a network, FUSE ones included.
var remoteTypes = map[string]bool{
	"nfs": true, "smbfs": true, "afpfs": true, "webdav": true, "cifs": true,
	"macfuse": true, "osxfuse": true, "fusefs": true,
}

func remoteAt(path string) (string, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false
	}
	name := unix.ByteSliceToString(st.Fstypename[:])
	return name, remoteTypes[name]
}
