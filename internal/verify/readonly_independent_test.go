package verify_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// readOnlyCopy copies every file of the folder of the fixture's ledger
// (closed first when closeFirst, so that its -wal is folded in) into a new
// folder and makes it read-only as an auditor's copy is (chmod -R a-w). It
// returns the copy's ledger path.
func readOnlyCopy(t *testing.T, f *fixture, closeFirst bool) string {
	t.Helper()
	if closeFirst && f.l != nil {
		f.l.Close()
		f.l = nil
	}
	src := filepath.Dir(f.path)
	dst := filepath.Join(t.TempDir(), "matter-copy")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), "-shm") {
			continue // the -shm index is no part of a copy
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dst, e.Name()), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dst, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dst, 0o755) })
	return filepath.Join(dst, filepath.Base(f.path))
}

// folderState lists a folder's files with their size, mode and SHA-256:
// as root, permission bits stop no write, so this is how a test sees that
// nothing was created or changed.
func folderState(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %d %v %x", e.Name(), fi.Size(), fi.Mode(), sha256.Sum256(b)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestIndependentVerifierReadOnlyCopy: the promise is that a copy of a
// matter verifies read-only, strictly, and agrees with the verifier built
// from docs/ledger-format.md. Both custody and the appendix's verifier
// read a copy made read-only (chmod -R a-w) without creating or changing
// a byte in its folder — also as root, whom the permission bits do not
// stop — and both refuse a read-only copy whose -wal holds changes.
func TestIndependentVerifierReadOnlyCopy(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	t.Run("copy", func(t *testing.T) {
		a := newAttestFixture(t)
		key := a.l.VerifierKey()
		ledgerPath := readOnlyCopy(t, a.fixture, true)
		dir := filepath.Dir(ledgerPath)
		before := folderState(t, dir)
		out, err := python("ledger", ledgerPath, key, "--tsa-roots", a.roots, "--witness", a.wkeyFile)
		if err != nil || !strings.HasPrefix(out, "OK ") {
			t.Fatalf("the independent verifier on a read-only copy: %v\n%s", err, out)
		}
		if after := folderState(t, dir); after != before {
			t.Fatalf("the independent verifier changed the read-only copy:\nbefore\n%s\nafter\n%s", before, after)
		}
		// custody reads the same copy the same way.
		l, err := ledger.Open(a.ctx, ledgerPath, ledger.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := verify.Ledger(a.ctx, l, verify.Options{VerifierKey: key})
		l.Close()
		if err != nil || !rep.OK {
			t.Fatalf("custody on the read-only copy: %v %v", err, rep.Findings)
		}
		if after := folderState(t, dir); after != before {
			t.Fatalf("custody changed the read-only copy:\nbefore\n%s\nafter\n%s", before, after)
		}
	})
	t.Run("copy with a -wal holding changes", func(t *testing.T) {
		f := newFixture(t)
		f.appendN(5)
		f.checkpoint()
		f.appendN(2)
		if fi, err := os.Stat(f.path + "-wal"); err != nil || fi.Size() == 0 {
			t.Skipf("the open ledger's -wal is empty here (%v): nothing to copy", err)
		}
		ledgerPath := readOnlyCopy(t, f, false)
		dir := filepath.Dir(ledgerPath)
		before := folderState(t, dir)
		out, err := python("ledger", ledgerPath, f.l.VerifierKey())
		if err == nil || !strings.Contains(out, "-wal file holds changes") {
			t.Fatalf("the independent verifier reads a read-only copy whose -wal holds changes: %v\n%s", err, out)
		}
		if after := folderState(t, dir); after != before {
			t.Fatalf("the independent verifier changed the read-only copy:\nbefore\n%s\nafter\n%s", before, after)
		}
		if _, err := ledger.Open(f.ctx, ledgerPath, ledger.Options{ReadOnly: true}); !errors.Is(err, ledger.ErrReadOnly) {
			t.Fatalf("custody opens a read-only copy whose -wal holds changes: %v", err)
		}
	})
}
