//go:build unix

package fsinfo_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// TestReadRegular: a regular file (or a link to one) within the limit is
// read; one over it, /dev/zero, a FIFO (at once, not waiting for a
// writer) and a directory are refused.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key.pub")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{file, filepath.Join(dir, "link")} {
		if b, err := fsinfo.ReadRegular(name, 10); err != nil || string(b) != "0123456789" {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	var tooLarge *fsinfo.TooLargeError
	if _, err := fsinfo.ReadRegular(file, 9); !errors.As(err, &tooLarge) {
		t.Errorf("a file over the limit: %v", err)
	}
	var notRegular *fsinfo.NotRegularError
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, name := range []string{"/dev/zero", fifo, dir} {
			if _, err := fsinfo.ReadRegular(name, 1<<20); !errors.As(err, &notRegular) {
				t.Errorf("%s: %v, want a NotRegularError", name, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReadRegular blocked")
	}
}

// TestReadRegularNoFollow: ReadRegular's checks, and a symbolic link is
// refused as one (even to a regular file), not followed; a FIFO and a
// directory are refused at once.
func TestReadRegularNoFollow(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := fsinfo.ReadRegularNoFollow(file, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("a regular file: %q, %v", b, err)
	}
	var tooLarge *fsinfo.TooLargeError
	if _, err := fsinfo.ReadRegularNoFollow(file, 9); !errors.As(err, &tooLarge) || !strings.Contains(err.Error(), "larger than 9 bytes") {
		t.Errorf("a file over the limit: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for name, mode := range map[string]os.FileMode{link: os.ModeSymlink, fifo: os.ModeNamedPipe, sub: os.ModeDir, "/dev/zero": os.ModeDevice} {
			b, err := fsinfo.ReadRegularNoFollow(name, 1<<20)
			var nr *fsinfo.NotRegularError
			if !errors.As(err, &nr) || nr.Mode.Type()&mode == 0 || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %q, %v; want a NotRegularError of mode %v", name, b, err, mode)
			}
			if mode == os.ModeSymlink && err != nil && !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("%s: %v does not say it is a symbolic link", name, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReadRegularNoFollow blocked")
	}
	if _, err := fsinfo.ReadRegularNoFollow(filepath.Join(dir, "absent"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent: %v, want not exist", err)
	}
}
