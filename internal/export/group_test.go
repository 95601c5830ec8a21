package export

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
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

// TestCommitterConcurrent: transactions queued at the same time commit
// together, each caller's writes are there once it returns, a failing
// part fails its whole batch (nothing of it is written) and reaches every
// caller in it, and the committer is usable afterwards.
func TestCommitterConcurrent(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "l.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var c committer
	var wg sync.WaitGroup
	var txs atomic.Int64
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for round := range 5 {
				key := fmt.Sprintf("w%d-r%d", w, round)
				err := c.update(ctx, l, func(tx *ledger.Tx) error {
					txs.Add(1)
					return tx.SetState(key, "done")
				})
				if err != nil {
					errs <- err
					return
				}
				if v, ok, err := l.State(ctx, key); err != nil || !ok || v != "done" {
					errs <- fmt.Errorf("%s after update: %q %v %v", key, v, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d transactions' parts run (80 callers)", txs.Load())

	// A batch with a failing part: hold the lead with a slow first
	// batch so that the next two queue together.
	boom := errors.New("boom")
	release := make(chan struct{})
	started := make(chan struct{})
	go c.update(ctx, l, func(tx *ledger.Tx) error { close(started); <-release; return nil })
	<-started
	results := make(chan error, 2)
	go func() {
		results <- c.update(ctx, l, func(tx *ledger.Tx) error { return tx.SetState("good", "1") })
	}()
	go func() { results <- c.update(ctx, l, func(tx *ledger.Tx) error { return boom }) }()
	for {
		c.q.mu.Lock()
		n := len(c.q.pending)
		c.q.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if err := <-results; !errors.Is(err, boom) {
			t.Errorf("a part of the failed batch got %v, want boom", err)
		}
	}
	if _, ok, err := l.State(ctx, "good"); err != nil || ok {
		t.Errorf("the failed batch's other part was committed (%v, %v)", ok, err)
	}
	if err := c.update(ctx, l, func(tx *ledger.Tx) error { return tx.SetState("after", "1") }); err != nil {
		t.Fatalf("after a failed batch: %v", err)
	}
}
