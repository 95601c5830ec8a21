//go:build unix

package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/verify"
)

// TestVerifyEvidenceRootLink (F3): an evidence folder that is itself a
// symbolic link is read where it leads, and verify says where: an
// auditor's chmod -R a-w of the copy holding the link does not reach it.
// A folder that is no link gets no such warning.
func TestVerifyEvidenceRootLink(t *testing.T) {
	for _, linked := range []bool{false, true} {
		f := newFixture(t)
		real := filepath.Join(t.TempDir(), "big-disk", "evidence")
		if err := os.MkdirAll(real, 0o755); err != nil {
			t.Fatal(err)
		}
		dir := real
		if linked {
			dir = filepath.Join(t.TempDir(), "evidence")
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}
		store, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		ref, err := store.Put(f.ctx, []byte(`{"entities":[1]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.l.Append(f.ctx, message("conv-a", 0, ref.Sum)); err != nil {
			t.Fatal(err)
		}
		f.checkpoint()
		rep := f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: true})
		warnings := findingLines(rep.Warnings)
		want := "the evidence folder " + dir + " is a symbolic link to " + real + ": the objects were read there"
		if !rep.OK || strings.Contains(warnings, want) != linked || strings.Contains(warnings, "symbolic link") != linked {
			t.Errorf("linked %v: OK %v, findings:\n%swarnings:\n%s", linked, rep.OK, findingLines(rep.Findings), warnings)
		}
	}
}
