package matter_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
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
//
// The limit is the process's, so the cut-short write runs in a child
// process: in this one, the testing package's own log (go test's cache
// record) could be the write that meets it, and the test binary fails.
func TestWriteNewCutShort(t *testing.T) {
	data := bytes.Repeat([]byte("custody/checkpoint line\n"), 100)
	if name := os.Getenv("CUSTODY_WRITENEW_CHILD"); name != "" {
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			fmt.Println("skip:", err)
			return
		}
		// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 512, Max: old.Max}); err != nil {
			fmt.Println("skip:", err)
			return
		}
		if err := matter.WriteNew(name, data, 0o644); err != nil {
			fmt.Println("failed:", err)
		} else {
			fmt.Println("written")
		}
		return
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "counsel.note")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteNewCutShort$")
	cmd.Env = append(os.Environ(), "CUSTODY_WRITENEW_CHILD="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	switch {
	case strings.HasPrefix(first, "skip: "):
		t.Skip(first)
	case first == "written":
		t.Fatal("WriteNew past the file size limit succeeded")
	case !strings.HasPrefix(first, "failed: "):
		t.Fatalf("child said:\n%s", out)
	}
	t.Logf("child: %s", first)
	err = errors.New(first)
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
