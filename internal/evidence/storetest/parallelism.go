package storetest

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// WithParallelism is s asking for n requests in flight
// (evidence.Parallel), whatever s would: benchmarks put a figure beside
// the store's own. Only the Store methods of s show through.
func WithParallelism(s evidence.Store, n int) evidence.Store { return withParallelism{s, n} }

type withParallelism struct {
	evidence.Store
	n int
}

func (s withParallelism) Parallelism() int { return s.n }

// CopyAll puts every object of from into to: a matter's evidence moved
// to another backend for a benchmark.
func CopyAll(tb testing.TB, from, to evidence.Store) {
	tb.Helper()
	ctx := context.Background()
	var data [][]byte
	err := from.Walk(ctx, func(sum hashchain.Hash) error {
		b, err := from.Get(ctx, sum)
		data = append(data, b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := evidence.PutAll(ctx, to, data); err != nil {
		tb.Fatal(err)
	}
}
