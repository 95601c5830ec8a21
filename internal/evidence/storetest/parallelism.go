package storetest

import "github.com/custodyhq/custody/internal/evidence"

// WithParallelism is s asking for n requests in flight
// (evidence.Parallel), whatever s would: benchmarks put a figure beside
// the store's own. Only the Store methods of s show through.
func WithParallelism(s evidence.Store, n int) evidence.Store { return withParallelism{s, n} }

type withParallelism struct {
	evidence.Store
	n int
}

func (s withParallelism) Parallelism() int { return s.n }
