//go:build unix

package ledger

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// staleWALEnv names the ledger TestStaleWALHint's child process opens.
const staleWALEnv = "CUSTODY_TEST_STALE_WAL"

// TestStaleWALHint (F9): a copy this user may not write in, but that is
// not write-protected, with a stale empty -wal and no -shm: SQLite cannot
// create the -shm its WAL read needs, and the open fails. The error says
// why and what to do. The open is made by a user who really may not
// write there: as root, a child process run as nobody; otherwise this
// user in a folder without write permission, which custody is told
// another user could write.
func TestStaleWALHint(t *testing.T) {
	if p := os.Getenv(staleWALEnv); p != "" {
		checkStaleWALHint(t, p)
		return
	}
	f := newFixture(t)
	f.appendN(3)
	f.l.Close()
	f.l = nil
	if err := os.WriteFile(f.path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(f.path)
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		isUnwritable = func(string) bool { return false }
		defer func() { isUnwritable = unwritable }()
		checkStaleWALHint(t, f.path)
		return
	}
	// The child runs a copy of this test binary that nobody may run,
	// from folders nobody may enter.
	bin := filepath.Join(t.TempDir(), "ledger.test")
	copyFile(t, os.Args[0], bin, 0o755)
	for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(context.Background(), bin, "-test.run=^TestStaleWALHint$", "-test.v")
	cmd.Env = append(os.Environ(), staleWALEnv+"="+f.path)
	cmd.Dir = filepath.Dir(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestStaleWALHint") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if _, err := os.Stat(f.path + "-shm"); err == nil {
		t.Error("a -shm was created")
	}
}

func checkStaleWALHint(t *testing.T, path string) {
	_, err := Open(context.Background(), path, Options{})
	if err == nil {
		t.Fatal("open succeeded: this user may write beside the ledger")
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) {
		t.Fatalf("open: %v, with no hint", err)
	}
	for _, want := range []string{"custody.db-shm", "empty custody.db-wal", "chmod -R a-w " + filepath.Dir(path), "remove the empty custody.db-wal"} {
		if !strings.Contains(h.Hint(), want) {
			t.Errorf("hint %q does not say %q", h.Hint(), want)
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
