//go:build unix

package fsinfo_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// OpenRegular reads a regular file, and refuses a directory and a FIFO —
// the FIFO at once, where a plain open would wait for a writer.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	f, fi, err := fsinfo.OpenRegular(root, "a.json")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(f); string(b) != "1" || fi.Size() != 1 || !fi.Mode().IsRegular() {
		t.Errorf("read %q, info %v", b, fi)
	}
	f.Close()
	for name, mode := range map[string]os.FileMode{"sub": os.ModeDir, "fifo": os.ModeNamedPipe} {
		done := make(chan error, 1)
		go func() {
			f, _, err := fsinfo.OpenRegular(root, name)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			var nr *fsinfo.NotRegularError
			if !errors.As(err, &nr) || nr.Mode.Type() != mode || err.Error() != "not a regular file" {
				t.Errorf("%s: err = %v, want a NotRegularError of mode %v", name, err, mode)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the open blocked", name)
		}
	}
	if _, _, err := fsinfo.OpenRegular(root, "absent"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent: err = %v, want not exist", err)
	}
}
