//go:build linux

package folder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestCloseKeepsNoDescriptor: a store keeps no descriptor open once
// closed, whether its lookups ran before Close, raced with it (run with
// -race) or came after it; those racing it are served or refused as
// closed, those after it refused (evidence.ErrClosed). A shard directory
// opened while Close ran, or after it, was kept open for good
// (review-commits3 L4: 056c853's close no longer excluded them).
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
				return fmt.Errorf("exists %s: %v, %w", sum, ok, err)
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
			// Racing with Close: served, or refused as closed.
			if errs[w] = lookAll(); errs[w] != nil && !errors.Is(errs[w], evidence.ErrClosed) {
				return
			}
			<-closed
			errs[w] = lookAll() // after Close: refused
			if errors.Is(errs[w], evidence.ErrClosed) {
				errs[w] = nil
			} else {
				errs[w] = fmt.Errorf("a lookup after Close: %v, want evidence.ErrClosed", errs[w])
			}
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

// TestCloseRacesLookups (review-commits5 L3): lookups racing Close never
// read through a descriptor Close closed, whose number the system gives
// to the next file opened: each GetInto and Get either returns the
// object's bytes or fails with evidence.ErrClosed, every one begun after
// Close returned fails so, and no descriptor is left open. Decoys open a
// folder whose files have the objects' names and other bytes, over and
// over, so that a lookup through a closed shard's number, reused, would
// read a decoy. Run with -race.
func TestCloseRacesLookups(t *testing.T) {
	ctx := context.Background()
	dir, decoy := t.TempDir(), t.TempDir()
	const n = 512 // in most of the 256 shards
	var sums []hashchain.Hash
	want := map[hashchain.Hash][]byte{}
	{
		s, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			data := fmt.Appendf(nil, "object %d", i)
			ref, err := s.Put(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			sums = append(sums, ref.Sum)
			want[ref.Sum] = data
			if err := os.WriteFile(filepath.Join(decoy, ref.Sum.String()), []byte("a decoy, not the object"), 0o444); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	before := openDescriptors(t)
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		s, err := folder.Open(dir, evidence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		gi := s.(evidence.GetIntoer)
		for _, sum := range sums { // every shard's descriptor kept
			if _, err := gi.GetInto(ctx, sum, nil); err != nil {
				t.Fatal(err)
			}
		}
		var closedDone, stop atomic.Bool
		var served, refused atomic.Int64
		errs := make(chan error, 16)
		var readers, decoys sync.WaitGroup
		for w := range 4 {
			readers.Go(func() {
				var buf []byte
				after := 0 // calls begun after Close returned
				for i := w; after < 20; i++ {
					sum := sums[(i*37)%n]
					late := closedDone.Load()
					var b []byte
					var err error
					if i%2 == 0 {
						b, err = gi.GetInto(ctx, sum, buf)
						buf = b
					} else {
						b, err = s.Get(ctx, sum)
					}
					switch {
					case err == nil && late:
						errs <- fmt.Errorf("round %d: %s read after Close returned", round, sum)
						return
					case err == nil && !bytes.Equal(b, want[sum]):
						errs <- fmt.Errorf("round %d: %s read as %q: through another file's descriptor", round, sum, b)
						return
					case err == nil:
						served.Add(1)
					case !errors.Is(err, evidence.ErrClosed):
						errs <- fmt.Errorf("round %d: %s: %v, want the bytes or evidence.ErrClosed", round, sum, err)
						return
					default:
						refused.Add(1)
						if !strings.Contains(err.Error(), "evidence store closed") {
							errs <- fmt.Errorf("round %d: %q does not say the store is closed", round, err)
							return
						}
					}
					if late {
						after++
					}
				}
			})
		}
		for range 2 {
			decoys.Go(func() {
				for !stop.Load() {
					fd, err := syscall.Open(decoy, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
					if err != nil {
						errs <- err
						return
					}
					time.Sleep(10 * time.Microsecond)
					syscall.Close(fd)
				}
			})
		}
		time.Sleep(time.Duration(round%8) * 200 * time.Microsecond)
		s.Close()
		closedDone.Store(true)
		readers.Wait()
		stop.Store(true)
		decoys.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if refused.Load() == 0 {
			t.Fatalf("round %d: nothing refused", round)
		}
		if after := openDescriptors(t); after != before {
			t.Fatalf("round %d: %d descriptors open after Close and every lookup, %d before the store was opened", round, after, before)
		}
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
