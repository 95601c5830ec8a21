package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// FileSystem names the file system dir is on, for the benchmark's
// header: which one decides much of an export's wall time (tmpfs, ext4
// with a journal, and ext4 without one, whose inode allocator skips every
// inode deleted in the last minute or more: a benchmark run right after
// another pays for the files the earlier one removed).
func FileSystem(dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch st.Type {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case unix.EXT4_SUPER_MAGIC: // also ext2 and ext3
		switch journaled(dir) {
		case 1:
			return "ext4 (journal)"
		case 0:
			return fsExt4NoJournal
		}
		return "ext4"
	}
	return fmt.Sprintf("type %#x", st.Type)
}

// journaled says whether dir's ext4 file system has a journal: 1 when
// /proc/fs/jbd2 has an entry for its device, 0 when it has none, -1 when
// it cannot tell.
func journaled(dir string) int {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return -1
	}
	want := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[2] != want {
			continue
		}
		for i, fl := range fields {
			if fl == "-" && i+2 < len(fields) {
				dev := filepath.Base(fields[i+2])
				m, _ := filepath.Glob("/proc/fs/jbd2/" + dev + "-*")
				if len(m) > 0 {
					return 1
				}
				if _, err := os.Stat("/proc/fs/jbd2"); err != nil {
					return -1
				}
				return 0
			}
		}
	}
	return -1
}
