//go:build unix

package folder_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestWriteStoreReplaced: a store whose folder was renamed away and
// refilled while it was open (its shard directories held since the
// first lookups) stores what it is given in the folder it names now.
// Exists says absent what only the old folder holds, Put and PutBatch
// write it and say so (Existed false), and a store opened afresh finds
// every object: writes looked objects up through the old shard
// directories, skipped them as stored, and the store lacked them
// (review-commits3 L4). With a link to the old sha256 folder in the
// store's, a write is refused as in a store opened afresh.
func TestWriteStoreReplaced(t *testing.T) {
	ctx := context.Background()
	// open stores objects in every shard in dir and looks each up once
	// more, so that every shard's directory is held; then dir is renamed
	// away (to the returned folder) and a new store is made in its place
	// with other objects, in every shard too.
	open := func(t *testing.T) (s evidence.Store, dir, old string, data [][]byte) {
		dir = filepath.Join(t.TempDir(), "store")
		s, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		for i := range 300 {
			data = append(data, fmt.Appendf(nil, "object %d", i))
		}
		if _, err := evidence.PutAll(ctx, s, data); err != nil {
			t.Fatal(err)
		}
		refs, err := evidence.PutAll(ctx, s, data)
		if err != nil || !refs[0].Existed {
			t.Fatalf("stored again: %v, %v", refs[0], err)
		}
		old = dir + ".old"
		if err := os.Rename(dir, old); err != nil {
			t.Fatal(err)
		}
		fresh, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		var other [][]byte
		for i := range 300 {
			other = append(other, fmt.Appendf(nil, "other object %d", i))
		}
		if _, err := evidence.PutAll(ctx, fresh, other); err != nil {
			t.Fatal(err)
		}
		return s, dir, old, data
	}
	// holds checks that a store opened afresh on dir holds every object of data.
	holds := func(t *testing.T, dir string, data [][]byte) {
		t.Helper()
		fresh, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		missing := 0
		for _, d := range data {
			if got, err := fresh.Get(ctx, sum(d)); err != nil || !bytes.Equal(got, d) {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("the store lacks %d of its %d objects", missing, len(data))
		}
	}
	t.Run("putbatch", func(t *testing.T) {
		s, dir, _, data := open(t)
		refs, err := evidence.PutAll(ctx, s, data)
		if err != nil {
			t.Fatal(err)
		}
		existed := 0
		for _, r := range refs {
			if r.Existed {
				existed++
			}
		}
		if existed > 0 {
			t.Errorf("%d of %d objects said stored already", existed, len(refs))
		}
		holds(t, dir, data)
	})
	t.Run("put", func(t *testing.T) {
		s, dir, _, data := open(t)
		existed := 0
		for _, d := range data {
			r, err := s.Put(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Existed {
				existed++
			}
		}
		if existed > 0 {
			t.Errorf("%d of %d objects said stored already", existed, len(data))
		}
		holds(t, dir, data)
	})
	t.Run("exists", func(t *testing.T) {
		s, _, _, data := open(t)
		there := 0
		for _, d := range data {
			ok, err := s.Exists(ctx, sum(d))
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				there++
			}
		}
		if there > 0 {
			t.Errorf("%d of %d objects only the old folder holds said there", there, len(data))
		}
	})
	t.Run("linked", func(t *testing.T) {
		s, dir, old, data := open(t)
		if err := os.RemoveAll(filepath.Join(dir, evidence.Dir)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(old, evidence.Dir), filepath.Join(dir, evidence.Dir)); err != nil {
			t.Fatal(err)
		}
		fresh, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		_, want := fresh.(evidence.Batcher).PutBatch(ctx, data[:10])
		if !errors.Is(want, evidence.ErrCorrupt) {
			t.Fatalf("a store opened afresh: %v, want ErrCorrupt", want)
		}
		if _, err := s.(evidence.Batcher).PutBatch(ctx, data[:10]); !errors.Is(err, evidence.ErrCorrupt) {
			t.Errorf("PutBatch: %v, want %v", err, want)
		}
		if _, err := s.Put(ctx, data[0]); !errors.Is(err, evidence.ErrCorrupt) {
			t.Errorf("Put: %v, want ErrCorrupt", err)
		}
		if ok, err := s.Exists(ctx, sum(data[0])); !errors.Is(err, evidence.ErrCorrupt) {
			t.Errorf("Exists: %v, %v, want ErrCorrupt", ok, err)
		}
	})
}

func sum(b []byte) hashchain.Hash { return hashchain.Hash(sha256.Sum256(b)) }
