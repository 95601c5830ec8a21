//go:build unix

package folder

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
)

// TestFileInAFoldersPlace (review-commits7 M4): a file where sha256/ or a
// shard folder should be means no object can be below it: the object is
// absent (fs.ErrNotExist, "missing"), not unreadable. Before, the open's
// ENOTDIR was passed on, and verify --evidence turned a store whose
// objects were all deleted (exit 3, missing) into INCOMPLETE (exit 1)
// once a file was put at sha256. A linked folder is still refused as
// not the store's (TestSymlinkedFolders), and an object replaced by a
// folder is still not a regular file (altered).
func TestFileInAFoldersPlace(t *testing.T) {
	for _, how := range []string{"openat2", "walk"} {
		for _, place := range []string{"shard", "sha256"} {
			t.Run(how+"/"+place, func(t *testing.T) {
				if how == "walk" {
					withoutOpenat2(t)
				}
				ctx := context.Background()
				dir := t.TempDir()
				s, err := Open(dir, evidence.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				data := []byte("an object whose folder became a file")
				sum := sumOf(data)
				if _, err := s.Put(ctx, data); err != nil {
					t.Fatal(err)
				}
				// Read once, so that the shard's descriptor is kept.
				if _, err := s.Get(ctx, sum); err != nil {
					t.Fatal(err)
				}
				key := evidence.Key(sum)
				replaced := key[:len(evidence.Dir)+3]
				if place == "sha256" {
					replaced = evidence.Dir
				}
				p := filepath.Join(dir, replaced)
				if err := os.RemoveAll(p); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, sum); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Get: err = %v, want fs.ErrNotExist", err)
				}
				if o, ok := s.(evidence.Opener); ok {
					if rc, err := o.Open(ctx, sum); !errors.Is(err, fs.ErrNotExist) {
						if err == nil {
							rc.Close()
						}
						t.Errorf("Open: err = %v, want fs.ErrNotExist", err)
					}
				}
				if _, err := s.(*folder).GetInto(ctx, sum, nil); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("GetInto: err = %v, want fs.ErrNotExist", err)
				}
				if ok, err := s.Exists(ctx, sum); ok || err != nil {
					t.Errorf("Exists = %v, %v; want false, nil", ok, err)
				}
			})
		}
	}
}

// TestFolderInAnObjectsPlace: an object replaced by a folder is not a
// regular file, altered (evidence.ErrCorrupt), not missing.
func TestFolderInAnObjectsPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := []byte("an object replaced by a folder")
	sum := sumOf(data)
	if _, err := s.Put(ctx, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, sum); !errors.Is(err, evidence.ErrCorrupt) {
		t.Errorf("Get: err = %v, want evidence.ErrCorrupt", err)
	}
}
