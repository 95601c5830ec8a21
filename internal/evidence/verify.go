package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/hashchain"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Concurrency is how many objects are read at once; 4 when 0.
	Concurrency int
	// Progress, when set, is called after each referenced object is
	// checked with the count done and the total; calls are serialized.
	Progress func(done, total int)
}

// Report is what Verify found. Lists are sorted by address.
type Report struct {
	Referenced   int              // distinct sums the caller referenced
	Stored       int              // evidence objects found in the store
	Missing      []hashchain.Hash // referenced, not in the store
	Altered      []Altered        // referenced, stored, but not those bytes
	Unreferenced []hashchain.Hash // in the store, referenced by nothing
}

// Altered is a stored object that does not hash to its address.
type Altered struct {
	Sum    hashchain.Hash // the address (what the ledger references)
	Actual hashchain.Hash // SHA-256 of what is stored there; zero if unread
	Detail string         // why Actual is zero, e.g. over the size limit
}

// OK reports whether every referenced object is present and intact.
// Unreferenced evidence does not make a report fail: an interrupted export
// leaves it behind by design (evidence is written before the ledger).
func (r *Report) OK() bool { return len(r.Missing) == 0 && len(r.Altered) == 0 }

// Sums adapts a slice of sums to Verify's argument.
func Sums(sums []hashchain.Hash) iter.Seq2[hashchain.Hash, error] {
	return func(yield func(hashchain.Hash, error) bool) {
		for _, s := range sums {
			if !yield(s, nil) {
				return
			}
		}
	}
}

// Verify re-hashes every object the caller references (typically every
// evidence_sha256 in the ledger; duplicates are fine) and walks the store
// for objects nothing references. An error from referenced, or a store
// error other than "not found" or "too large", aborts with an error: the
// report is only returned when it is complete.
//
// Memory grows with the number of distinct referenced sums (a set of
// them is kept to find the unreferenced objects).
func Verify(ctx context.Context, s Store, referenced iter.Seq2[hashchain.Hash, error], opts VerifyOptions) (*Report, error) {
	set := make(map[hashchain.Hash]struct{})
	for sum, err := range referenced {
		if err != nil {
			return nil, fmt.Errorf("evidence: verify: read references: %w", err)
		}
		set[sum] = struct{}{}
	}
	r := &Report{Referenced: len(set)}

	workers := opts.Concurrency
	if workers <= 0 {
		workers = 4
	}
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for sum := range set {
		g.Go(func() error {
			var missing bool
			var alt *Altered
			data, err := s.Get(gctx, sum)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				missing = true
			case errors.Is(err, ErrTooLarge), errors.Is(err, ErrCorrupt):
				alt = &Altered{Sum: sum, Detail: err.Error()}
			case err != nil:
				return err // the store names the operation and the object ("evidence: get sha256/…: …")
			default:
				if got := hashchain.Hash(sha256.Sum256(data)); got != sum {
					alt = &Altered{Sum: sum, Actual: got}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if missing {
				r.Missing = append(r.Missing, sum)
			}
			if alt != nil {
				r.Altered = append(r.Altered, *alt)
			}
			done++
			if opts.Progress != nil {
				opts.Progress(done, len(set))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	err := s.Walk(ctx, func(sum hashchain.Hash) error {
		r.Stored++
		if _, ok := set[sum]; !ok {
			r.Unreferenced = append(r.Unreferenced, sum)
		}
		return nil
	})
	if err != nil {
		return nil, err // the store names the operation ("evidence: walk …: …")
	}

	slices.SortFunc(r.Missing, compareHash)
	slices.SortFunc(r.Altered, func(a, b Altered) int { return compareHash(a.Sum, b.Sum) })
	slices.SortFunc(r.Unreferenced, compareHash)
	return r, nil
}

func compareHash(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) }
