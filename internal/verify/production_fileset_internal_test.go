package verify

import (
	"testing"

	"github.com/custodyhq/custody/internal/production"
)

// TestFileSet: the manifest's files are found by path whatever their
// order in it, and a path it does not list is not.
func TestFileSet(t *testing.T) {
	files := []production.File{{Path: "rsmf/b.rsmf", SHA256: "b"}, {Path: "dat/custody.dat", SHA256: "d"}, {Path: "a", SHA256: "a"}, {Path: "rsmf/a.rsmf", SHA256: "c"}}
	s := newFileSet(files)
	for i, f := range files {
		if j, ok := s.index(f.Path); !ok || j != i || s.get(f.Path) != f || !s.has(f.Path) {
			t.Errorf("%s: index %d %v, get %+v", f.Path, j, ok, s.get(f.Path))
		}
	}
	for _, p := range []string{"", "b", "rsmf", "rsmf/c.rsmf", "dat/custody.dat/x"} {
		if _, ok := s.index(p); ok || s.has(p) || s.get(p) != (production.File{}) {
			t.Errorf("%q found", p)
		}
	}
}
