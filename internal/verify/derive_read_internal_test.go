package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// failingGets is a store whose Get fails, counting the calls; nothing
// else of it is used.
type failingGets struct {
	evidence.Store
	gets int
}

func (s *failingGets) Get(context.Context, hashchain.Hash) ([]byte, error) {
	s.gets++
	return nil, errors.New("evidence: get: offline")
}

// TestDeriveReadAsksOnce (review-commits7 M3): the derive stage asks the
// store for an object it did not get at most once, however many entries
// name it; and once the evidence check has stopped early, not at all for
// an object the check did not hand over. Before, every call asked the
// store again.
func TestDeriveReadAsksOnce(t *testing.T) {
	ctx := context.Background()
	sum := hashchain.Hash(sha256.Sum256([]byte("an object the store does not give")))

	s := &failingGets{}
	c := newDeriveCheck(s, nil, 0)
	for range 3 {
		if _, ok := c.read(ctx, sum); ok {
			t.Fatal("read an object the store failed to give")
		}
	}
	if s.gets != 1 {
		t.Errorf("%d Gets for one object read three times; want 1", s.gets)
	}

	// An object the evidence check handed over as not read: neither
	// the entry it was kept for nor a second one naming it asks the
	// store, the check still running.
	{
		s := &failingGets{}
		pre := newPrefetch(make(chan struct{}))
		pre.register(1, sum, rawBody)
		pre.keep(sum)(nil, false)
		c := newDeriveCheck(s, pre, 0)
		for range 2 {
			if _, ok := c.read(ctx, sum); ok {
				t.Fatal("read an object the check could not read")
			}
		}
		if s.gets != 0 {
			t.Errorf("%d Gets for an object the check handed over as not read; want 0", s.gets)
		}
	}

	for _, stopped := range []bool{false, true} {
		s := &failingGets{}
		done := make(chan struct{})
		close(done) // the evidence check has returned
		pre := newPrefetch(done)
		pre.stoppedEarly = func() bool { return stopped }
		c := newDeriveCheck(s, pre, 0)
		if _, ok := c.read(ctx, sum); ok {
			t.Fatal("read an object the store failed to give")
		}
		want := 1 // a check that read every object: the store decides
		if stopped {
			want = 0
		}
		if s.gets != want {
			t.Errorf("check stopped early %v: %d Gets; want %d", stopped, s.gets, want)
		}
	}
}

// TestDeriveUnavailableBounded: the derive stage's memory of objects it
// did not get holds at most deriveUnavailable of them, the most recently
// named, however many fail; one remembered is not asked for again, one
// forgotten is asked again and is unavailable all the same. Before, the
// memory was a map that grew with every object that failed.
func TestDeriveUnavailableBounded(t *testing.T) {
	const bound = 8
	defer SetDeriveUnavailable(bound)()
	ctx := context.Background()
	sum := func(i int) hashchain.Hash { return hashchain.Hash(sha256.Sum256(fmt.Appendf(nil, "object %d", i))) }
	s := &failingGets{}
	c := newDeriveCheck(s, nil, 0)
	const n = 1000
	for i := range n {
		if _, ok := c.read(ctx, sum(i)); ok {
			t.Fatal("read an object the store failed to give")
		}
		if got := len(c.unavailable.items); got > bound || c.unavailable.order.Len() != got {
			t.Fatalf("after %d objects failed, %d remembered (%d in order); want at most %d", i+1, got, c.unavailable.order.Len(), bound)
		}
	}
	if s.gets != n {
		t.Fatalf("%d Gets for %d objects", s.gets, n)
	}
	// The last ones named are remembered: not asked again.
	for i := n - bound; i < n; i++ {
		if _, ok := c.read(ctx, sum(i)); ok {
			t.Fatal("read an object the store failed to give")
		}
	}
	if s.gets != n {
		t.Errorf("%d Gets after naming again the %d objects last remembered; want %d", s.gets, bound, n)
	}
	// The first was forgotten: asked again, and still unavailable.
	if _, ok := c.read(ctx, sum(0)); ok || s.gets != n+1 {
		t.Errorf("a forgotten object: read %v, %d Gets; want unavailable, %d", ok, s.gets, n+1)
	}

	// Objects the evidence check handed over as not intact fill the
	// same bounded memory.
	pre := newPrefetch(make(chan struct{}))
	c = newDeriveCheck(&failingGets{}, pre, 0)
	for i := range n {
		pre.register(uint64(i), sum(i), messagesBody)
		pre.keep(sum(i))(nil, false)
		if _, _, ok := c.cached(ctx, sum(i), messagesBody); ok {
			t.Fatal("an object handed over as not intact is available")
		}
	}
	if got := len(c.unavailable.items); got > bound {
		t.Errorf("%d objects handed over as not intact remembered; want at most %d", got, bound)
	}
}
