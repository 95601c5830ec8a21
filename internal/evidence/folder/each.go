package folder

import (
	"sync"
	"sync/atomic"
)

// each calls fn(0) … fn(n-1), at most workers at once, and returns the
// first error once every call begun has returned; after an error no new
// call begins. A few goroutines take the items in turn, rather than one
// goroutine an item: PutBatch's steps are a system call or two an
// object, which a goroutine's start and wake-up would add a fifth to.
// With one worker (a local disk's lookups) the calls run in order on
// the caller's goroutine.
func each(n, workers int, fn func(k int) error) error {
	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
	)
	run := func() {
		for !failed.Load() {
			k := int(next.Add(1)) - 1
			if k >= n {
				return
			}
			if err := fn(k); err != nil {
				once.Do(func() { first = err })
				failed.Store(true)
			}
		}
	}
	workers = min(workers, n)
	if workers <= 1 {
		run()
		return first
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(run)
	}
	wg.Wait()
	return first
}
