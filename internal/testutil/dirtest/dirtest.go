// Package dirtest lists folders for tests that check what a command left
// behind (a refused report, a killed production, a key written once) or
// that it changed nothing (a dry run).
package dirtest

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Names lists the names in dir, sorted, failing the test when dir cannot
// be read.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// Files lists every file under dir as "path size mtime sha256", in walk
// (lexical) order, but SQLite's shared-memory index (a -shm file), whose
// lock words any reader of a ledger writes: what a command that must
// change nothing (a dry run, a read) is compared on, before and after.
func Files(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "-shm") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %d %x", p, info.Size(), info.ModTime().UnixNano(), sha256.Sum256(b)))
		return nil
	})
	return out, err
}
