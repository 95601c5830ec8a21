package matter_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
)

// TestWriteNewCutShort: a write that fails part-way (here the file size
// limit, as a full disk would) leaves nothing under the file's name —
// not a partial checkpoint note or key that could be taken for a whole
// one, nor a file that makes the next try fail as "already exists" —
// and the next try writes it whole. An existing file is never replaced.
func TestWriteNewCutShort(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "counsel.note")
	data := bytes.Repeat([]byte("custody/checkpoint line\n"), 100)

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 512, Max: old.Max}); err != nil {
		t.Skip(err)
	}
	err := matter.WriteNew(name, data, 0o644)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil {
		t.Fatal("WriteNew past the file size limit succeeded")
	}
	if _, serr := os.Lstat(name); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("a failed WriteNew (%v) left %s: %v", err, name, serr)
	}

	if err := matter.WriteNew(name, data, 0o644); err != nil {
		t.Fatalf("WriteNew again: %v", err)
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, data) {
		t.Errorf("written again: %d bytes, %v; want %d", len(got), err, len(data))
	}
	if err := matter.WriteNew(name, []byte("other"), 0o644); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "file exists") {
		t.Errorf("WriteNew onto an existing file: %v, want file exists", err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, data) {
		t.Error("WriteNew replaced an existing file")
	}
	if names := dirtest.Names(t, dir); len(names) != 1 {
		t.Errorf("the folder holds %v, want only counsel.note", names)
	}
}
