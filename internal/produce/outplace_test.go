//go:build unix

package produce_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
)

// TestOutNotPlaceable: --out that is a symbolic link to an empty folder,
// or an empty mount point (a folder on another device than its parent,
// made so by SetDevice: mounting takes root), is refused before
// anything is written or recorded, saying to give a new folder inside
// it; a folder inside the mount point is produced into. Before, the
// link was replaced by a local folder, and the mount point left a
// recorded production that could never be put in place.
func TestOutNotPlaceable(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 3)
	ctx := context.Background()
	entries := func() int {
		n := 0
		for _, err := range l.Entries(ctx, ledger.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	run := func(out string) error {
		_, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st},
			produce.Options{Out: out, Format: produce.FormatDAT, SignerKey: key, VerifierKey: l.VerifierKey()})
		return err
	}
	listing := func(d string) []string {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	before := entries()

	work := filepath.Join(dir, "work")
	target := filepath.Join(dir, "share", "prod-001")
	for _, d := range []string{work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(work, "prod-001")
	if err := os.Symlink(filepath.Join("..", "share", "prod-001"), link); err != nil { // relative, as ln -s makes them
		t.Fatal(err)
	}
	err := run(link)
	if !errors.Is(err, produce.ErrOutNotPlaceable) {
		t.Fatalf("--out a symbolic link: %v", err)
	}
	// The folder to give is named from where produce runs, not from the link.
	if want := "e.g. " + filepath.Join(target, "prod-001"); !strings.Contains(err.Error(), want) {
		t.Errorf("%v: want it to say %q", err, want)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer a link: %v %v", fi, err)
	}
	if got := listing(work); len(got) != 1 {
		t.Errorf("beside the link: %v", got)
	}

	drive := filepath.Join(dir, "media", "drive")
	if err := os.MkdirAll(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	defer produce.SetDevice(drive, 0xdeadbeef)()
	err = run(drive)
	if !errors.Is(err, produce.ErrOutNotPlaceable) {
		t.Fatalf("--out a mount point: %v", err)
	}
	t.Log(err)
	if got := listing(filepath.Dir(drive)); len(got) != 1 {
		t.Errorf("beside the mount point: %v", got)
	}
	if n := entries(); n != before {
		t.Errorf("%d entries appended for productions that were refused", n-before)
	}
	if err := run(filepath.Join(drive, "prod-001")); err != nil {
		t.Fatalf("a folder inside the mount point: %v", err)
	}
	if got := listing(drive); len(got) != 1 || got[0] != "prod-001" {
		t.Errorf("in the mount point: %v", got)
	}
}
