package evidence_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

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

// fakeBackend opens nothing; it only has a scheme.
type fakeBackend struct{ scheme string }

func (f fakeBackend) Scheme() string             { return f.scheme }
func (f fakeBackend) Example() string            { return f.scheme + "://x" }
func (f fakeBackend) AddFlags(fs *pflag.FlagSet) {}
func (f fakeBackend) Normalize(loc string) (string, error) {
	return loc, nil
}
func (f fakeBackend) Open(context.Context, string, evidence.Options) (evidence.Store, error) {
	return nil, errors.New("fake")
}

func TestRegistryLookup(t *testing.T) {
	reg := evidence.NewRegistry(fakeBackend{"file"}, fakeBackend{"mem"})
	tests := []struct {
		loc, scheme, norm string
		err               error
	}{
		{"/a/b", "file", "/a/b", nil},
		{"rel", "file", "rel", nil},
		{"MEM://x", "mem", "mem://x", nil},
		{"mem+v2://x", "", "", evidence.ErrUnknownScheme},
		{"gs://b", "", "", evidence.ErrUnknownScheme},
		{"://x", "", "", evidence.ErrBadLocation},
		{"1mem://x", "", "", evidence.ErrBadLocation},
		{"./a://b", "", "", evidence.ErrBadLocation},
	}
	for _, tt := range tests {
		b, loc, err := reg.Lookup(tt.loc)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Lookup(%q): err = %v, want %v", tt.loc, err, tt.err)
			}
			continue
		}
		if err != nil || b.Scheme() != tt.scheme || loc != tt.norm {
			t.Errorf("Lookup(%q) = %v, %q, %v; want %s, %q", tt.loc, b, loc, err, tt.scheme, tt.norm)
		}
	}
	_, _, err := reg.Lookup("gs://b")
	if err == nil || !strings.Contains(err.Error(), "file (file://x), mem (mem://x)") {
		t.Errorf("unknown scheme error %v does not list the known schemes", err)
	}
}

func TestRegistryDuplicateSchemePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two backends for one scheme did not panic")
		}
	}()
	evidence.NewRegistry(fakeBackend{"s3"}, fakeBackend{"s3"})
}

// TestGetChecked: Get hands back whatever the store holds at an address;
// GetChecked refuses bytes that do not hash to it (ErrCorrupt, naming what
// they hash to), as every reader that shows or decides on content must.
func TestGetChecked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ref, err := st.Put(ctx, []byte("the response as Genesys sent it"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := evidence.GetChecked(ctx, st, ref.Sum); err != nil || string(b) != "the response as Genesys sent it" {
		t.Fatalf("GetChecked of an intact object: %q, %v", b, err)
	}
	file := filepath.Join(dir, evidence.Key(ref.Sum))
	os.Chmod(file, 0o644)
	if err := os.WriteFile(file, []byte("the response as someone edited it"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Get(ctx, ref.Sum); err != nil || string(b) != "the response as someone edited it" {
		t.Fatalf("Get of an altered object: %q, %v (Get does not re-hash)", b, err)
	}
	edited := sha256.Sum256([]byte("the response as someone edited it"))
	b, err := evidence.GetChecked(ctx, st, ref.Sum)
	if !errors.Is(err, evidence.ErrCorrupt) || b != nil || !strings.Contains(err.Error(), hashchain.Hash(edited).String()) {
		t.Errorf("GetChecked of an altered object: %q, %v; want ErrCorrupt naming what it hashes to", b, err)
	}
	if _, err := evidence.GetChecked(ctx, st, hashchain.Hash(edited)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("GetChecked of an absent object: %v, want fs.ErrNotExist", err)
	}
}
