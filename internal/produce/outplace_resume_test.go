//go:build unix

package produce_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/produce"
)

// TestOutMountPointLeftover: a production recorded and left unfinished
// for a --out that is now an empty mount point (as custody before the
// check left them, failing to rename onto it) is not finished onto the
// mount point either: the same produce refuses, saying to give a folder
// inside it, and changes nothing.
func TestOutMountPointLeftover(t *testing.T) {
	dir := t.TempDir()
	l, _, key := fixture(t, dir, 2, 3)
	l.Close()
	drive := filepath.Join(t.TempDir(), "drive")
	runKilled(t, dir, drive, key, "checkpoint") // recorded, not in place
	l, st := reopen(t, dir)
	left := hidden(t, drive)
	if len(left) != 1 {
		t.Fatalf("the killed production left %v", left)
	}
	if err := os.Mkdir(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	defer produce.SetDevice(drive, 0xdeadbeef)()
	ctx := context.Background()
	before, _ := l.Head(ctx)
	_, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: drive, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()})
	if !errors.Is(err, produce.ErrOutNotPlaceable) {
		t.Fatalf("finishing onto a mount point: %v", err)
	}
	if after, _ := l.Head(ctx); after.Size != before.Size {
		t.Errorf("the ledger grew from %d to %d entries", before.Size, after.Size)
	}
	if ents, _ := os.ReadDir(drive); len(ents) != 0 {
		t.Errorf("the mount point holds %d entries", len(ents))
	}
	if now := hidden(t, drive); len(now) != 1 || now[0] != left[0] {
		t.Errorf("the recorded folder %v is now %v", left, now)
	}
}
