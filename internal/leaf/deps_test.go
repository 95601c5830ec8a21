package leaf

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure checks that leaf and hashchain — all an offline proof check
// needs (custody verify --proof) — link neither SQLite nor cgo, nor the
// ledger: the format stays apart from the machine that stores it.
func TestPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".", "../hashchain", "../jsonscan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "sqlite") || dep == "runtime/cgo" || strings.HasSuffix(dep, "/internal/ledger") {
			t.Errorf("leaf, hashchain or jsonscan depends on %s", dep)
		}
	}
	out, err = exec.Command(gobin, "list", "-deps", "../jsonscan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, ".") && !strings.HasSuffix(dep, "/internal/jsonscan") {
			t.Errorf("jsonscan depends on %s, beyond the standard library", dep)
		}
	}
}
