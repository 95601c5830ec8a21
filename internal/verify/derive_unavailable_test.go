package verify_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/verify"
)

// countingGets counts a store's Gets: the evidence check's (one for
// each object: Open and GetInto are not promoted) and the derive
// stage's.
type countingGets struct {
	evidence.Store
	gets atomic.Int64
}

func (s *countingGets) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, sum)
}

// TestDeriveUnavailableMemoryJudgesNothing: the derive stage's bounded
// memory of objects it did not get decides only whether the store is
// asked again, never what is found. A matter whose every body is
// missing, each named by two entries far apart, verified with a memory
// of 4 objects (each second entry's body forgotten, asked again) and with
// the default (none asked again), gives the same report.
func TestDeriveUnavailableMemoryJudgesNothing(t *testing.T) {
	f := newFixture(t)
	store, err := folder.Open(filepath.Join(t.TempDir(), "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 300
	var first, second []leaf.Entry
	for i := range n {
		sum := hashchain.Hash(sha256.Sum256(fmt.Appendf(nil, `{"entities":[%d]}`, i))) // never stored
		conv := fmt.Sprintf("conv-%d", i)
		first = append(first, message(conv, 0, sum))
		second = append(second, message(conv, 1, sum))
	}
	if _, err := f.l.Append(f.ctx, append(first, second...)...); err != nil {
		t.Fatal(err)
	}
	f.checkpoint()
	run := func(memory int) (verify.Report, int64) {
		defer verify.SetDeriveUnavailable(memory)()
		s := &countingGets{Store: store}
		return f.verify(verify.Options{Evidence: s, MaxFindings: 100000}), s.gets.Load()
	}
	small, smallGets := run(4)
	full, fullGets := run(1 << 16)
	if full.Evidence == nil || full.Evidence.Missing != n || full.Derived == nil || full.Derived.Unavailable != 2*n {
		t.Fatalf("evidence %+v, derived %+v; want %d missing, %d entries unavailable", full.Evidence, full.Derived, n, 2*n)
	}
	// The evidence check asks once for each object; the derive stage
	// asks again only for a body it forgot.
	if fullGets != n || smallGets < 2*n-4 {
		t.Errorf("Gets: %d with the default memory (want the check's %d), %d with 4 objects remembered (want the forgotten ones too, about %d)", fullGets, n, smallGets, 2*n)
	}
	if !reflect.DeepEqual(small.Findings, full.Findings) || !reflect.DeepEqual(small.Derived, full.Derived) ||
		!reflect.DeepEqual(small.Evidence, full.Evidence) || small.Omitted != full.Omitted || len(small.Findings) == 0 {
		t.Errorf("the memory's bound changed the report:\n4:       %d findings, %+v\ndefault: %d findings, %+v", len(small.Findings), small.Derived, len(full.Findings), full.Derived)
	}
}
