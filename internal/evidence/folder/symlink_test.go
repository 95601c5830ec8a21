//go:build unix

package folder_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestSymlinkedObject: an object moved out of the store and linked back
// is not a regular file in the store, whatever the link points at: every
// read path refuses it, as Put does (checkExisting) and as it does a
// directory or FIFO in its place, and verification reports it altered.
func TestSymlinkedObject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("an object linked from outside the store")
	if _, err := s.Put(ctx, data); err != nil {
		t.Fatal(err)
	}
	sum := hashchain.Hash(sha256.Sum256(data))
	p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
	outside := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(p, outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, p); err != nil {
		t.Skipf("symlink: %v", err)
	}
	if _, err := s.Get(ctx, sum); !errors.Is(err, evidence.ErrCorrupt) {
		t.Errorf("get: err = %v, want ErrCorrupt", err)
	}
	if o, ok := s.(evidence.Opener); ok {
		if rc, err := o.Open(ctx, sum); !errors.Is(err, evidence.ErrCorrupt) {
			if err == nil {
				io.Copy(io.Discard, rc)
				rc.Close()
			}
			t.Errorf("open: err = %v, want ErrCorrupt", err)
		}
	}
	if g, ok := s.(evidence.GetIntoer); ok {
		if _, err := g.GetInto(ctx, sum, nil); !errors.Is(err, evidence.ErrCorrupt) {
			t.Errorf("get into: err = %v, want ErrCorrupt", err)
		}
	} else {
		t.Error("the folder store has no GetInto")
	}
	rep, err := evidence.Verify(ctx, evidence.ReadOnly(s), evidence.Sums([]hashchain.Hash{sum}), evidence.VerifyOptions{})
	if err != nil || len(rep.Altered) != 1 || !strings.Contains(rep.Altered[0].Detail, "not a regular file") {
		t.Errorf("verify: %v %+v", err, rep)
	}
}
