package matter_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/matter"
)

// TestWriteNewMissingFolder (F10): prove --out into a folder that does not
// exist says so, naming the folder and not the hidden temporary file the
// write begins with.
func TestWriteNewMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nodir")
	name := filepath.Join(dir, "x.proof.json")
	err := matter.WriteNew(name, []byte("{}\n"), 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if msg := err.Error(); strings.Contains(msg, ".partial") || !strings.Contains(msg, "the folder "+dir+" does not exist") || !strings.Contains(msg, name) {
		t.Errorf("err = %q, want it to name %s and say the folder %s does not exist", msg, name, dir)
	}
}
