package verify

import (
	"context"
	"crypto/sha256"
	"errors"
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
