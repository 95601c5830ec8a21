// Package appendix writes the independent verifier printed in
// docs/ledger-format.md ("Appendix: an independent verifier") to a file,
// for the tests that run it against custody.
package appendix

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Script writes the doc's Python block to dir/custody_verify.py and
// returns its path. The doc is found from the test's folder up to the
// module's root; the test fails when it has no Python block.
func Script(t testing.TB, dir string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "ledger-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	const start = "```python\n"
	i := bytes.Index(doc, []byte(start))
	if i < 0 {
		t.Fatal("appendix: no python block in docs/ledger-format.md")
	}
	body := doc[i+len(start):]
	j := bytes.Index(body, []byte("```\n"))
	if j < 0 {
		t.Fatal("appendix: the python block in docs/ledger-format.md does not end")
	}
	script := filepath.Join(dir, "custody_verify.py")
	if err := os.WriteFile(script, body[:j], 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// moduleRoot is the nearest folder above the working directory (a test's
// package folder) that holds go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("appendix: no go.mod above the test's folder")
		}
		dir = up
	}
}
