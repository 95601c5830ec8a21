//go:build unix

package folder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestGetIntoStoreReplaced: GetInto keeps its shard directories open, yet
// reads what the store holds now when the store was removed and refilled
// under it (a removed object is absent, a new one in a shard it had open
// is found); after Close it reads nothing (evidence.ErrClosed), and a
// second Close does nothing.
func TestGetIntoStoreReplaced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gi := s.(evidence.GetIntoer)
	// Objects in every shard, so that the replaced store's objects fall
	// in shards whose old directories are held.
	var sums []hashchain.Hash
	var bodies [][]byte
	for i := range 2000 {
		b := fmt.Appendf(nil, "object %d", i)
		ref, err := s.Put(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		sums, bodies = append(sums, ref.Sum), append(bodies, b)
	}
	for i, sum := range sums {
		got, err := gi.GetInto(ctx, sum, nil)
		if err != nil || !bytes.Equal(got, bodies[i]) {
			t.Fatalf("object %d: %q, %v", i, got, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for i, sum := range sums {
		if got, err := gi.GetInto(ctx, sum, nil); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("object %d after the store was removed: %q, %v", i, got, err)
		}
	}
	var fresh []hashchain.Hash
	for i := range 300 {
		b := fmt.Appendf(nil, "new object %d", i)
		ref, err := s.Put(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		fresh = append(fresh, ref.Sum)
		if got, err := gi.GetInto(ctx, ref.Sum, nil); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("new object %d: %q, %v", i, got, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, sum := range fresh {
		if got, err := gi.GetInto(ctx, sum, nil); !errors.Is(err, evidence.ErrClosed) {
			t.Fatalf("after Close: %q, %v; want evidence.ErrClosed", got, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
