package evidence_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
)

func folderHarness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T, opts evidence.Options) evidence.Store {
			s, err := evidence.Open(context.Background(), t.TempDir(), opts)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Tamper: func(t *testing.T, s evidence.Store, sum hashchain.Hash, data []byte) {
			p := filepath.Join(s.URL(), filepath.FromSlash(evidence.Key(sum)))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Remove(p) // read-only files can still be unlinked
			if err := os.WriteFile(p, data, 0o444); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestFolderConformance(t *testing.T) { storetest.Run(t, folderHarness()) }

func TestFolderLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b") // parents created on first write
	s, err := evidence.Open(ctx, "file://"+dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL() != dir {
		t.Errorf("URL() = %q, want %q", s.URL(), dir)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("open created the folder before any write")
	}
	data := []byte("layout")
	ref, err := s.Put(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	hex := ref.Sum.String()
	if want := hashchain.Hash(sha256.Sum256(data)); ref.Sum != want {
		t.Fatalf("sum %s, want %s", ref.Sum, want)
	}
	p := filepath.Join(dir, "sha256", hex[:2], hex)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("object not at %s: %v", p, err)
	}
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("object mode %v, want read-only 0444", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("shard dir holds %d entries, want only the object (no temp files left)", len(entries))
	}
	if err := s.PutFile(ctx, "checkpoints/1.note", []byte("n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "1.note")); err != nil {
		t.Errorf("side file not beside the evidence: %v", err)
	}
}

func TestFolderWalkSkipsStrays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := evidence.Open(ctx, dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Put(ctx, []byte("real"))
	if err != nil {
		t.Fatal(err)
	}
	hex := ref.Sum.String()
	other := hashchain.Hash(sha256.Sum256([]byte("other"))).String()
	strays := []string{
		filepath.Join("sha256", hex[:2], ".tmp-12345"),             // crash leftover
		filepath.Join("sha256", hex[:2], "notes.txt"),              // not an address
		filepath.Join("sha256", "zz", other),                       // wrong shard
		filepath.Join("sha256", other[:2], strings.ToUpper(other)), // not our spelling
	}
	for _, p := range strays {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []hashchain.Hash
	if err := s.Walk(ctx, func(h hashchain.Hash) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != ref.Sum {
		t.Errorf("walk = %v, want only %s", got, ref.Sum)
	}
}

func TestFolderWalkAbsentRoot(t *testing.T) {
	s, err := evidence.Open(context.Background(), filepath.Join(t.TempDir(), "nope"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Walk(context.Background(), func(hashchain.Hash) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("walk of a store that was never written: err = %v, want fs.ErrNotExist", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		location string
		opts     evidence.Options
		want     error
	}{
		{"empty", "", evidence.Options{}, evidence.ErrBadLocation},
		{"empty file url", "file://", evidence.Options{}, evidence.ErrBadLocation},
		{"not a directory", file, evidence.Options{}, evidence.ErrBadLocation},
		{"unknown scheme", "gs://bucket/x", evidence.Options{}, evidence.ErrBadLocation},
		{"legal hold on a folder", t.TempDir(), evidence.Options{LegalHold: true}, evidence.ErrNoObjectLock},
		{"bad bucket", "s3://UPPER/x", evidence.Options{}, nil},
		{"dotdot prefix", "s3://bucket/a/../b", evidence.Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := evidence.Open(ctx, tt.location, tt.opts)
			if err == nil {
				s.Close()
				t.Fatalf("open %q succeeded", tt.location)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("open %q: err = %v, want %v", tt.location, err, tt.want)
			}
		})
	}
}

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
