package folder_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/hashchain"
)

func folderHarness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T, opts evidence.Options) evidence.Store {
			s, err := folder.Open(t.TempDir(), opts)
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
		Plant: func(t *testing.T, s evidence.Store, name string, data []byte) {
			p := filepath.Join(s.URL(), filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestFolderConformance(t *testing.T) { storetest.Run(t, folderHarness()) }

func TestFolderLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b") // parents created on first write
	s, err := folder.New().Open(ctx, "file://"+dir, evidence.Options{})
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
	s, err := folder.Open(dir, evidence.Options{})
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
		filepath.Join("sha256", shardNot(other), other),            // an address in another's shard
		filepath.Join("sha256", other[:2], "deeper", other),        // below the shard level
		filepath.Join("sha256", other[:2], other+"0"),              // too long
		filepath.Join("sha256", strings.ToUpper(hex[:2])+"x", hex), // not a shard name
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
	// A directory named as an address is not an object.
	if err := os.MkdirAll(filepath.Join(dir, "sha256", other[:2], other), 0o755); err != nil {
		t.Fatal(err)
	}
	var got []hashchain.Hash
	if err := s.Walk(ctx, func(h hashchain.Hash) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != ref.Sum {
		t.Errorf("walk = %v, want only %s", got, ref.Sum)
	}
}

// shardNot is a shard name that is not h's.
func shardNot(h string) string {
	if h[:2] == "00" {
		return "01"
	}
	return "00"
}

func TestFolderWalkAbsentRoot(t *testing.T) {
	s, err := folder.Open(filepath.Join(t.TempDir(), "nope"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Walk(context.Background(), func(hashchain.Hash) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("walk of a store that was never written: err = %v, want fs.ErrNotExist", err)
	}
}

// TestVerifyStreams checks the streamed re-hash (the folder is an
// evidence.Opener, also through evidence.ReadOnly): an object over the
// size limit and a directory where an object should be are reported as
// altered with the reason, and a good object larger than the hash buffer
// hashes to its name.
func TestVerifyStreams(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB: several buffer fills
	bigRef, err := w.Put(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	small, err := w.Put(ctx, []byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	notFile := hashchain.Hash(sha256.Sum256([]byte("a directory")))
	p := filepath.Join(dir, filepath.FromSlash(evidence.Key(notFile)))
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	// Read back through a store whose limit the big object exceeds.
	r, err := folder.Open(dir, evidence.Options{MaxSize: 1 << 19})
	if err != nil {
		t.Fatal(err)
	}
	ro := evidence.ReadOnly(r)
	if _, ok := ro.(evidence.Opener); !ok {
		t.Fatal("evidence.ReadOnly(folder) is not an evidence.Opener")
	}
	rep, err := evidence.Verify(ctx, ro, evidence.Sums([]hashchain.Hash{bigRef.Sum, small.Sum, notFile}), evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Altered) != 2 || len(rep.Missing) != 0 {
		t.Fatalf("report %+v, want the big object and the directory altered", rep)
	}
	for _, a := range rep.Altered {
		want := evidence.ErrCorrupt.Error()
		if a.Sum == bigRef.Sum {
			want = "limit"
		}
		if !a.Actual.IsZero() || !strings.Contains(a.Detail, want) {
			t.Errorf("altered %+v, want a zero Actual and a detail naming %q", a, want)
		}
	}
	// Within the limit, the big object streams and verifies.
	rep, err = evidence.Verify(ctx, w, evidence.Sums([]hashchain.Hash{bigRef.Sum, small.Sum}), evidence.VerifyOptions{Concurrency: 1})
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
