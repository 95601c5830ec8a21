//go:build linux

package folder_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestCloseKeepsNoDescriptor: a store keeps no descriptor open once
// closed, whether its lookups ran before Close, raced with it (run with
// -race) or came after it; those after it are served all the same. A
// shard directory opened while Close ran, or after it, was kept open for
// good (review-commits3 L4: 056c853's close no longer excluded them).
func TestCloseKeepsNoDescriptor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var sums []hashchain.Hash
	{
		s, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			ref, err := s.Put(ctx, fmt.Appendf(nil, "object %d", i))
			if err != nil {
				t.Fatal(err)
			}
			sums = append(sums, ref.Sum)
		}
		// Read once, so that what reading opens for good in the process
		// (the runtime's poller) is open before the count.
		if _, err := s.Get(ctx, sums[0]); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	before := openDescriptors(t)
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gi := s.(evidence.GetIntoer)
	lookAll := func() error {
		for _, sum := range sums {
			if ok, err := s.Exists(ctx, sum); err != nil || !ok {
				return fmt.Errorf("exists %s: %v, %v", sum, ok, err)
			}
			if _, err := gi.GetInto(ctx, sum, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := lookAll(); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range errs {
		wg.Go(func() {
			if errs[w] = lookAll(); errs[w] != nil { // racing with Close
				return
			}
			<-closed
			errs[w] = lookAll() // after Close
		})
	}
	s.Close()
	close(closed)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := openDescriptors(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before the store was opened", after, before)
	}
}

// openDescriptors counts the process's open file descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
