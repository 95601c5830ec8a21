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

// TestPrintTableNotesNoJournal: the header warns of a journal-less ext4
// work folder, whose recently deleted inodes slow file creation, and says
// nothing of other file systems.
func TestPrintTableNotesNoJournal(t *testing.T) {
	if n := fsNote("ext4 (no journal)"); !strings.Contains(n, "inodes deleted") {
		t.Errorf("ext4 (no journal): note %q", n)
	}
	for _, fs := range []string{"tmpfs", "ext4 (journal)", "ext4", "xfs", "unknown"} {
		if n := fsNote(fs); n != "" {
			t.Errorf("%s: unexpected note %q", fs, n)
		}
	}
	var b strings.Builder
	PrintTable(&b, Config{Dir: t.TempDir()}, nil)
	if strings.Contains(b.String(), "note:") != (fsNote(FileSystem(t.TempDir())) != "") {
		t.Errorf("header and fsNote disagree:\n%s", b.String())
	}
}
