package recexport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/sim/recexport"
)

// TestCheckFolder: a missing folder is made, with its parents, and left
// empty; one that cannot be made is an error naming it.
func TestCheckFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "export")
	if err := recexport.CheckFolder(dir); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("folder after the check: %v, %v; want it made and empty", ents, err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := recexport.CheckFolder(filepath.Join(file, "export"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(file, "export")) && !strings.Contains(err.Error(), file) {
		t.Fatalf("a folder under a file: %v, want an error naming it", err)
	}
}
