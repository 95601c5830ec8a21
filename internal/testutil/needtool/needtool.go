// Package needtool is how a test that needs a tool the machine may lack
// (python3 with cryptography, openssl) says so: it skips, loudly, on a
// developer's machine, and fails where the tools were installed for it —
// under `make test` (CUSTODY_TOOLS set) or CI — so that a broken install
// step cannot turn the test into a silent skip.
package needtool

import (
	"os"
	"os/exec"
	"testing"
)

// Missing stops t for want, a tool that is not here: a failure where the
// test dependencies were installed, else a skip that says what to install.
func Missing(t testing.TB, want string) {
	t.Helper()
	if os.Getenv("CUSTODY_TOOLS") != "" || os.Getenv("CI") != "" {
		t.Fatalf("%s is missing, though the test dependencies were installed (scripts/install-test-deps.sh)", want)
	}
	t.Skipf("SKIPPING: %s is not installed (make test-deps installs it)", want)
}

// Partly is Missing for a test that runs without want, leaving out only
// the part that needs it: a failure where the test dependencies were
// installed, else a logged line that says what was left out.
func Partly(t testing.TB, want, leftOut string) {
	t.Helper()
	if os.Getenv("CUSTODY_TOOLS") != "" || os.Getenv("CI") != "" {
		t.Fatalf("%s is missing, though the test dependencies were installed (scripts/install-test-deps.sh)", want)
	}
	t.Logf("SKIPPING PART: %s is not installed: %s", want, leftOut)
}

// Python returns python3 able to import the cryptography package, which
// the independent verifier of docs/ledger-format.md needs; without it, it
// stops t as Missing does.
func Python(t testing.TB) string {
	t.Helper()
	python, missing := pythonCrypto()
	if missing != "" {
		Missing(t, missing)
	}
	return python
}

// PythonPartly is Python for a test that runs without it, leaving out
// leftOut (Partly): "" when python3 with cryptography is missing.
func PythonPartly(t testing.TB, leftOut string) string {
	t.Helper()
	python, missing := pythonCrypto()
	if missing != "" {
		Partly(t, missing, leftOut)
		return ""
	}
	return python
}

// pythonCrypto finds python3 and checks it has the cryptography package;
// missing names what is not here ("" when both are).
func pythonCrypto() (python, missing string) {
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", "python3"
	}
	if exec.Command(python, "-c", "import cryptography.hazmat.primitives.asymmetric.ed25519").Run() != nil {
		return "", "the python3 cryptography package"
	}
	return python, ""
}
