package fsinfo

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestRemoteTypes(t *testing.T) {
	for _, c := range []struct {
		magic  int64
		name   string
		remote bool
	}{
		{unix.NFS_SUPER_MAGIC, "nfs", true},
		{unix.CIFS_SUPER_MAGIC, "cifs", true},
		{unix.SMB2_SUPER_MAGIC, "smb2", true},
		{unix.V9FS_MAGIC, "9p", true}, // WSL's Windows drives
		{unix.FUSE_SUPER_MAGIC, "fuse", true},
		{unix.EXT4_SUPER_MAGIC, "", false},
		{unix.XFS_SUPER_MAGIC, "", false},
		{unix.BTRFS_SUPER_MAGIC, "", false},
		{unix.TMPFS_MAGIC, "", false},
		{unix.OVERLAYFS_SUPER_MAGIC, "", false},
	} {
		name, remote := remoteType(c.magic)
		if name != c.name || remote != c.remote {
			t.Errorf("remoteType(%#x) = %q, %v; want %q, %v", c.magic, name, remote, c.name, c.remote)
		}
	}
}
