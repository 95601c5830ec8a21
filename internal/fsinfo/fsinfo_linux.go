//go:build linux

package fsinfo

import "golang.org/x/sys/unix"

// remoteTypes are the statfs(2) magic numbers of the file systems
// whose reads cross a network (linux/magic.h). FUSE is among them: most
// FUSE mounts are remote (sshfs, rclone, s3fs, cloud drives), and each of
// its operations is a round trip to a user-space server even when not.
var remoteTypes = map[int64]string{
	unix.NFS_SUPER_MAGIC:   "nfs",
	unix.SMB_SUPER_MAGIC:   "smb",
	unix.CIFS_SUPER_MAGIC:  "cifs",
	unix.SMB2_SUPER_MAGIC:  "smb2",
	unix.V9FS_MAGIC:        "9p",
	unix.FUSE_SUPER_MAGIC:  "fuse",
	unix.CEPH_SUPER_MAGIC:  "ceph",
	unix.AFS_SUPER_MAGIC:   "afs",
	unix.CODA_SUPER_MAGIC:  "coda",
	unix.OCFS2_SUPER_MAGIC: "ocfs2",
	0x0bd00bd0:             "lustre",
}

func remoteAt(path string) (string, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false
	}
	return remoteType(int64(st.Type))
}

// remoteType names the file system of statfs magic number t, and says
// whether it is remote.
func remoteType(t int64) (string, bool) {
	name, ok := remoteTypes[t]
	return name, ok
}
