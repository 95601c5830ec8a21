package bench

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFileSystem(t *testing.T) {
	if got := FileSystem(filepath.Join(t.TempDir(), "absent")); got != "unknown" {
		t.Errorf("absent folder: %q, want unknown", got)
	}
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) == nil && st.Type == unix.TMPFS_MAGIC {
		if got := FileSystem("/dev/shm"); got != "tmpfs" {
			t.Errorf("/dev/shm: %q, want tmpfs", got)
		}
	}
	dir := t.TempDir()
	got := FileSystem(dir)
	if unix.Statfs(dir, &st) == nil && st.Type == unix.EXT4_SUPER_MAGIC && !strings.HasPrefix(got, "ext4") {
		t.Errorf("%s is ext4, FileSystem says %q", dir, got)
	}
	t.Logf("%s: %s", dir, got)
}
