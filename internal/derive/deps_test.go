package derive

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure checks that derive stays in the pure core: no SQLite, no cgo,
// no machine (fetch, ledger, evidence) and no verb — verify imports it,
// and a verb importing a verb is what it exists to avoid.
func TestPure(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "sqlite") || dep == "runtime/cgo" {
			t.Errorf("derive depends on %s", dep)
		}
		for _, no := range []string{"fetch", "ledger", "evidence", "export", "verify", "diff", "reconcile"} {
			if strings.HasSuffix(dep, "/internal/"+no) {
				t.Errorf("derive depends on %s", dep)
			}
		}
	}
}
