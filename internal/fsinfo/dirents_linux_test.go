package fsinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestReadDirents: the same names and types os.ReadDir gives, over
// several buffers, and an error from fn stops it and is returned.
func TestReadDirents(t *testing.T) {
	dir := t.TempDir()
	for i := range 300 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d-%s", i, "padding-to-make-the-records-long")), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, fmt.Sprintf("%s %v", e.Name(), e.Type()))
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	var got []string
	if err := readDirents(fd, dir, make([]byte, 1024), func(name []byte, typ fs.FileMode, known bool) error {
		if !known {
			fi, err := os.Lstat(filepath.Join(dir, string(name)))
			if err != nil {
				return err
			}
			typ = fi.Mode().Type()
		}
		got = append(got, fmt.Sprintf("%s %v", name, typ))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ReadDirents listed %d entries, os.ReadDir %d:\n%q\nwant\n%q", len(got), len(want), got[:min(5, len(got))], want[:5])
	}

	if _, err := syscall.Seek(fd, 0, 0); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	if err := readDirents(fd, dir, make([]byte, 1024), func([]byte, fs.FileMode, bool) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn's error: %v after %d calls, want %v after 1", err, n, stop)
	}
}
