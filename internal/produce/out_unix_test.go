//go:build unix

package produce

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOutModes: a production's top folder has the mode of its subfolders
// (dirMode less the umask), not os.MkdirTemp's 0700, and its files
// fileMode less the umask.
func TestOutModes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "prod")
	o, err := prepareOut(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.abort()
	if err := o.write("manifest.json", []byte("{}\n"), true); err != nil {
		t.Fatal(err)
	}
	if err := o.write("proofs/000000000001.proof.json", []byte("{}\n"), true); err != nil {
		t.Fatal(err)
	}
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	// What the umask leaves of the modes, seen on a folder and a file
	// made here the ordinary way.
	ref := t.TempDir()
	if err := os.Mkdir(filepath.Join(ref, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ref, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	wantDir, wantFile := mode(filepath.Join(ref, "d")), mode(filepath.Join(ref, "f"))
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{out, wantDir},
		{filepath.Join(out, "proofs"), wantDir},
		{filepath.Join(out, "manifest.json"), wantFile},
		{filepath.Join(out, "proofs", "000000000001.proof.json"), wantFile},
	} {
		if got := mode(tc.path); got != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.path, got, tc.want)
		}
	}
}
