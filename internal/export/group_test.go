package export

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestGrouperConcurrent: callers storing at the same time each get the
// refs of their own objects, in order, and every object is stored.
func TestGrouperConcurrent(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	var g grouper
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Go(func() {
			for round := range 5 {
				var data [][]byte
				for k := range 1 + (w+round)%4 {
					data = append(data, fmt.Appendf(nil, "w%d r%d k%d", w, round, k))
				}
				data = append(data, []byte("shared by everyone"))
				refs, err := g.putAll(ctx, s, data)
				if err != nil {
					errs <- err
					return
				}
				if len(refs) != len(data) {
					errs <- fmt.Errorf("worker %d: %d refs for %d objects", w, len(refs), len(data))
					return
				}
				for i, d := range data {
					if want := hashchain.Hash(sha256.Sum256(d)); refs[i].Sum != want {
						errs <- fmt.Errorf("worker %d: ref %d is %s, want %s", w, i, refs[i].Sum, want)
						return
					}
					if ok, err := s.Exists(ctx, refs[i].Sum); err != nil || !ok {
						errs <- fmt.Errorf("worker %d: object %d not stored (%v)", w, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// An error reaches the caller whose batch failed, and the grouper
	// is usable afterwards.
	if _, err := g.putAll(ctx, s, [][]byte{make([]byte, 65)}); !errors.Is(err, evidence.ErrTooLarge) {
		t.Fatalf("too large: got %v, want ErrTooLarge", err)
	}
	if refs, err := g.putAll(ctx, s, [][]byte{[]byte("after")}); err != nil || len(refs) != 1 {
		t.Fatalf("after an error: %v %v", refs, err)
	}
}
