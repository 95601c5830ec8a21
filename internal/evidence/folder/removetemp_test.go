package folder_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestRemoveTemp: only a temporary file of an unfinished write, named
// as Survey names it, is removed; any other name is refused and left.
func TestRemoveTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr, ok := s.(evidence.TempRemover)
	if !ok {
		t.Fatal("the folder store is no evidence.TempRemover")
	}
	shard := filepath.Join(dir, "sha256", "ab")
	if err := os.MkdirAll(shard, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{".tmp-1", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(shard, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var temps []string
	if err := s.Survey(context.Background(), func(hashchain.Hash) error { return nil }, func(name string) error {
		if evidence.IsTemp(name) {
			temps = append(temps, name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(temps) != 1 {
		t.Fatalf("survey named temporaries %v, want one", temps)
	}
	if err := tr.RemoveTemp(context.Background(), temps[0]); err != nil {
		t.Fatalf("remove %s: %v", temps[0], err)
	}
	if _, err := os.Stat(filepath.Join(shard, ".tmp-1")); !os.IsNotExist(err) {
		t.Errorf("the temporary is still there: %v", err)
	}
	if err := tr.RemoveTemp(context.Background(), temps[0]); err != nil {
		t.Errorf("removing it again: %v, want nothing (already gone)", err)
	}
	for _, bad := range []string{"sha256/ab/notes.txt", "sha256/../ab/.tmp-1", "checkpoints/.tmp-2", ".tmp-3", `sha256/ab\..\.tmp-4`} {
		if err := tr.RemoveTemp(context.Background(), bad); !errors.Is(err, evidence.ErrBadName) {
			t.Errorf("remove %q: %v, want ErrBadName", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(shard, "notes.txt")); err != nil {
		t.Errorf("a stray that is not a temporary was touched: %v", err)
	}
}
