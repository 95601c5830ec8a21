package evidence_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
)

func TestKey(t *testing.T) {
	sum := hashchain.Hash(sha256.Sum256([]byte("abc")))
	want := "sha256/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := evidence.Key(sum); got != want {
		t.Errorf("Key = %s, want %s", got, want)
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range storetest.BadNames {
		f.Add(s)
	}
	for _, s := range []string{"checkpoints/12.note", "MANIFEST", "a/b/c", "x..y", "a/b.", "-"} {
		f.Add(s)
	}
	root := string(filepath.Separator) + filepath.Join("store", "root")
	f.Fuzz(func(t *testing.T, name string) {
		if evidence.ValidName(name) != nil {
			return
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("accepted %q escapes the root: %s", name, p)
		}
		if filepath.ToSlash(filepath.Clean(name)) != name {
			t.Fatalf("accepted unclean name %q", name)
		}
		if first, _, _ := strings.Cut(name, "/"); first == evidence.Dir {
			t.Fatalf("accepted %q inside the evidence directory", name)
		}
	})
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, []byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	ro := evidence.ReadOnly(s)
	if _, err := ro.Put(ctx, []byte("new")); !errors.Is(err, evidence.ErrReadOnly) {
		t.Errorf("put: err = %v, want ErrReadOnly", err)
	}
	if err := ro.PutFile(ctx, "checkpoints/1.note", []byte("n")); !errors.Is(err, evidence.ErrReadOnly) {
		t.Errorf("put file: err = %v, want ErrReadOnly", err)
	}
	if b, err := ro.Get(ctx, ref.Sum); err != nil || string(b) != "kept" {
		t.Errorf("get = %q, %v", b, err)
	}
	if ok, err := ro.Exists(ctx, sumOf([]byte("new"))); err != nil || ok {
		t.Errorf("the refused put stored something: exists = %v, %v", ok, err)
	}
}

func sumOf(b []byte) hashchain.Hash { return hashchain.Hash(sha256.Sum256(b)) }
