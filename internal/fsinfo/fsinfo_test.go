package fsinfo_test

import (
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/testutil/slowfs"
)

// A test folder is on this machine's own disk (ext4 or tmpfs): not
// remote, whether or not it exists yet.
func TestLocalFolder(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "not", "yet")} {
		if name, remote := fsinfo.Remote(p); remote {
			t.Errorf("Remote(%s) = %q, true; want local", p, name)
		}
		if n := fsinfo.Requests(p); n != 1 {
			t.Errorf("Requests(%s) = %d, want 1", p, n)
		}
	}
}

// A FUSE mount is remote, and so is a path under it that does not exist
// yet (a store created on first write).
func TestFUSEMount(t *testing.T) {
	share := slowfs.Mount(t, t.TempDir(), 0)
	for _, p := range []string{share.Dir, filepath.Join(share.Dir, "evidence")} {
		name, remote := fsinfo.Remote(p)
		if !remote || name != "fuse" {
			t.Errorf("Remote(%s) = %q, %v; want fuse, true", p, name, remote)
		}
		if n := fsinfo.Requests(p); n != fsinfo.DefaultRequests {
			t.Errorf("Requests(%s) = %d, want %d", p, n, fsinfo.DefaultRequests)
		}
	}
}
