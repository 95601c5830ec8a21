package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyMissingPaths (F10): verify names what is missing as missing.
// A --ledger that names no file is no reason to run custody init (an
// auditor checks someone else's ledger), and a --production folder that
// does not exist is not "not a folder".
func TestVerifyMissingPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	prod := filepath.Join(dir, "prod-001")
	if err := os.Mkdir(prod, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent.db")
	for _, tc := range []struct {
		name      string
		args      []string
		want, not string
	}{
		{"ledger named", []string{"--ledger", missing, "verify"}, "no such ledger (nothing is at the path given)", "custody init"},
		{"ledger named, production", []string{"--ledger", missing, "verify", "--production", prod}, "no such ledger (nothing is at the path given)", "custody init"},
		{"production missing", []string{"verify", "--production", filepath.Join(dir, "nonexistent")}, "nonexistent: no such folder", "not a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), tc.not) {
				t.Errorf("exit %d, stderr %q; want it to say %q and not %q", code, stderr.String(), tc.want, tc.not)
			}
		})
	}
}
