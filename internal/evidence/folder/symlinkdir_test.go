//go:build unix

package folder

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestSymlinkedFolders (F3): a shard folder, or sha256/ itself, moved out
// of the store and linked back is not the store's: no read or write goes
// through the link. Reads refuse the object as they refuse a linked
// object file (altered, not a regular file in the store); writes fail
// and leave the folder the link points at as it was; a walk names the
// link and reads nothing under it. Both ways of opening are tried: one
// openat2 and, as on a system without it, a component at a time.
func TestSymlinkedFolders(t *testing.T) {
	for _, how := range []string{"openat2", "walk"} {
		for _, linked := range []string{"shard", "sha256"} {
			t.Run(how+"/"+linked, func(t *testing.T) {
				if how == "walk" {
					withoutOpenat2(t)
				}
				testSymlinkedFolder(t, linked)
			})
		}
	}
}

func testSymlinkedFolder(t *testing.T, linked string) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := []byte("an object under a linked folder")
	sum := sumOf(data)
	if _, err := s.Put(ctx, data); err != nil {
		t.Fatal(err)
	}
	key := evidence.Key(sum)
	moved := key[:len(evidence.Dir)+3] // sha256/xx
	if linked == "sha256" {
		moved = evidence.Dir
	}
	outside := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(filepath.Join(dir, moved), outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, moved)); err != nil {
		t.Fatal(err)
	}
	before := listing(t, outside)

	refused := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, evidence.ErrCorrupt) || !strings.Contains(err.Error(), "symbolic link, "+moved) {
			t.Errorf("%s: err = %v, want ErrCorrupt naming the link %s", op, err, moved)
		}
	}
	_, err = s.Get(ctx, sum)
	refused("get", err)
	rc, err := s.(evidence.Opener).Open(ctx, sum)
	if err == nil {
		io.Copy(io.Discard, rc)
		rc.Close()
	}
	refused("open", err)
	_, err = s.(evidence.GetIntoer).GetInto(ctx, sum, nil)
	refused("get into", err)
	_, err = s.Exists(ctx, sum)
	refused("exists", err)
	_, err = s.Put(ctx, data)
	refused("put of the object stored there", err)
	other := sameShard(sum)
	if _, err := s.Put(ctx, other); err == nil {
		t.Error("put of another object into the linked folder succeeded")
	}
	if _, err := evidence.PutAll(ctx, s, [][]byte{other, []byte("b"), []byte("c"), []byte("d"), []byte("e")}); err == nil {
		t.Error("put all into the linked folder succeeded")
	}
	refused("delete", s.Delete(ctx, sum))
	if err := s.(evidence.TempRemover).RemoveTemp(ctx, moved+"/.tmp-x"); err == nil && linked == "shard" {
		// Nothing there to remove, but the link is not followed to look.
		t.Error("remove temp through the link: no error")
	}
	if after := listing(t, outside); !slices.Equal(before, after) {
		t.Errorf("the linked folder changed: %v, now %v", before, after)
	}

	rep, err := evidence.Verify(ctx, evidence.ReadOnly(s), evidence.Sums([]hashchain.Hash{sum}), evidence.VerifyOptions{})
	if err != nil || len(rep.Altered) != 1 || !strings.Contains(rep.Altered[0].Detail, "symbolic link") {
		t.Errorf("verify: %v %+v", err, rep)
	}
	var objects, strays []string
	if err := s.Survey(ctx, func(h hashchain.Hash) error { objects = append(objects, evidence.Key(h)); return nil },
		func(n string) error { strays = append(strays, n); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Files(ctx, func(n string) error { strays = append(strays, n); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(objects) != 0 || !slices.Equal(strays, []string{moved}) {
		t.Errorf("walk: objects %v, strays %v; want none and the link %s", objects, strays, moved)
	}
}

// sameShard returns data whose object falls in sum's shard.
func sameShard(sum hashchain.Hash) []byte {
	for i := 0; ; i++ {
		b := []byte("another object " + strings.Repeat("x", i))
		if sumOf(b)[0] == sum[0] {
			return b
		}
	}
}

// listing names every file under dir with its size.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
