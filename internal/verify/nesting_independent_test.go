package verify_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/verify"
)

// TestIndependentVerifierDeepLeafEveryPython: a leaf nested as deep as the
// format allows (10,000 levels) verifies with the appendix's Python
// verifier under every Python 3 on PATH, not only the python3 the other
// tests run: Python 3.12 and later cap recursion in C code, json.loads's
// and json.dumps's among it, below that, whatever sys.setrecursionlimit
// says, and the appendix said "cannot check" there.
//
// The ledger has no checkpoint and no timestamp, so nothing in it is
// signed, and a stand-in for the cryptography package (which only the
// python3 that make test-deps equips is sure to have) lets the script
// load under each.
func TestIndependentVerifierDeepLeafEveryPython(t *testing.T) {
	pythons := map[string]string{} // version → command
	for _, name := range []string{"python3", "python3.11", "python3.12", "python3.13", "python3.14", "python3.15"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		v, err := exec.Command(p, "-c", "import sys; print(sys.version.split()[0])").Output()
		if err != nil {
			continue // a version manager's shim of a Python not installed
		}
		pythons[strings.TrimSpace(string(v))] = p
	}
	if len(pythons) == 0 {
		needtool.Missing(t, "python3")
	}
	dir := t.TempDir()
	script := appendix.Script(t, dir)
	stub := filepath.Join(dir, "stub")
	for file, content := range map[string]string{
		"cryptography/__init__.py":                              "",
		"cryptography/x509/__init__.py":                         "",
		"cryptography/x509/oid.py":                              "ExtendedKeyUsageOID = None\n",
		"cryptography/hazmat/__init__.py":                       "",
		"cryptography/hazmat/primitives/__init__.py":            "",
		"cryptography/hazmat/primitives/asymmetric/__init__.py": "",
		"cryptography/hazmat/primitives/asymmetric/ed25519.py":  "Ed25519PublicKey = None\n",
	} {
		p := filepath.Join(stub, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	f := newFixture(t)
	f.forgeRow([]byte(nest(string(genuineLeaf(t)), 10000)))
	rep := f.verify(verify.Options{})
	if !rep.Holds() || rep.Unsigned == nil {
		t.Fatalf("custody: %v, unsigned %+v", rep.Findings, rep.Unsigned)
	}
	// Nothing is signed: every check holds, the verdict is UNSIGNED (exit 4).
	want := fmt.Sprintf("UNSIGNED %d %s\ncoverage: entries 0 to 0 are covered by no signed checkpoint: ", rep.Entries, rep.Root)
	for version, python := range pythons {
		t.Run(version, func(t *testing.T) {
			cmd := exec.Command(python, script, "ledger", f.path, f.l.VerifierKey())
			cmd.Env = append(os.Environ(), "PYTHONPATH="+stub)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.HasPrefix(string(out), want) {
				t.Errorf("Python %s: %v\n%.2000s\nwant exit 4 and %s", version, err, out, want)
			}
		})
	}
}
