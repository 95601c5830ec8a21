//go:build linux

package folder

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
)

// TestLinkNewNeverReplaces: the rename gives a written file its name
// only where none is, as the link it stands for; with the rename turned
// off (a file system without RENAME_NOREPLACE) the link does the same,
// and the temporary name stays for PutBatch to remove.
func TestLinkNewNeverReplaces(t *testing.T) {
	for _, noRename := range []bool{false, true} {
		t.Run(map[bool]string{false: "rename", true: "link"}[noRename], func(t *testing.T) {
			dir := t.TempDir()
			f := &folder{root: dir}
			f.noRename.Store(noRename)
			tmp, dst := filepath.Join(dir, tmpPrefix+"a"), filepath.Join(dir, "obj")
			if err := os.WriteFile(tmp, []byte("new"), 0o444); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, []byte("old"), 0o444); err != nil {
				t.Fatal(err)
			}
			moved, err := f.linkNew(tmp, dst)
			if !errors.Is(err, fs.ErrExist) || moved {
				t.Fatalf("onto an existing name: moved %v, %v; want fs.ErrExist", moved, err)
			}
			if b, _ := os.ReadFile(dst); string(b) != "old" {
				t.Fatalf("existing name now holds %q", b)
			}
			os.Remove(dst)
			moved, err = f.linkNew(tmp, dst)
			if err != nil || moved == noRename {
				t.Fatalf("onto a free name: moved %v, %v; want moved %v", moved, err, !noRename)
			}
			if b, _ := os.ReadFile(dst); string(b) != "new" {
				t.Fatalf("new name holds %q", b)
			}
			if _, err := os.Lstat(tmp); (err == nil) != noRename {
				t.Errorf("temporary name there afterwards: %v, want %v", err == nil, noRename)
			}
		})
	}
}

// TestPutBatchWithoutRename stores a batch through links (the fallback
// on file systems without RENAME_NOREPLACE): every object is stored, no
// temporary file is left, and a second batch finds them all.
func TestPutBatchWithoutRename(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.(*folder).noRename.Store(true)
	var data [][]byte
	for i := range 6 {
		data = append(data, conversation(i)...)
	}
	for round, wantExisted := range []bool{false, true} {
		refs, err := evidence.PutAll(ctx, s, data)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range data {
			if refs[i].Existed != wantExisted {
				t.Errorf("round %d, object %d: Existed %v", round, i, refs[i].Existed)
			}
			if b, err := s.Get(ctx, sumOf(d)); err != nil || !bytes.Equal(b, d) {
				t.Errorf("round %d, object %d: %v, %q", round, i, err, b)
			}
		}
	}
	noTempLeft(t, dir)
}
