package evidence_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestVerifyKeepFolder: objects handed over through Keep are read from a
// folder store (through GetInto, read-only wrapper included) with the
// same verdicts as the streamed hashing: intact bytes handed over, an
// altered, missing or oversized object handed over as nil and reported.
func TestVerifyKeepFolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := s.Put(ctx, []byte(`{"kept":true}`))
	bad, _ := s.Put(ctx, []byte("to be altered"))
	big, _ := s.Put(ctx, []byte("small for now"))
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(evidence.Key(bad.Sum))), []byte("altered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(evidence.Key(big.Sum))), make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := sumOf([]byte("never stored"))
	type got struct {
		data   string
		intact bool
	}
	var mu sync.Mutex
	handed := map[hashchain.Hash]got{}
	for _, st := range []evidence.Store{s, evidence.ReadOnly(s)} {
		clear(handed)
		rep, err := evidence.Verify(ctx, st, evidence.Sums([]hashchain.Hash{good.Sum, bad.Sum, big.Sum, missing}), evidence.VerifyOptions{
			Keep: func(sum hashchain.Hash) func([]byte, bool) {
				return func(b []byte, intact bool) {
					mu.Lock()
					defer mu.Unlock()
					handed[sum] = got{string(b), intact}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(handed) != 4 || handed[good.Sum] != (got{`{"kept":true}`, true}) {
			t.Fatalf("handed over: %v", handed)
		}
		for _, sum := range []hashchain.Hash{bad.Sum, big.Sum, missing} {
			if handed[sum] != (got{}) {
				t.Fatalf("a damaged object was handed over: %v", handed[sum])
			}
		}
		if len(rep.Missing) != 1 || rep.Missing[0] != missing || len(rep.Altered) != 2 {
			t.Fatalf("report: missing %v, altered %v", rep.Missing, rep.Altered)
		}
	}
}

// failingStore fails every read of one object with an I/O error.
type failingStore struct {
	evidence.Store
	bad hashchain.Hash
}

func (f failingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	if sum == f.bad {
		return nil, errors.New("disk on fire")
	}
	return f.Store.Get(ctx, sum)
}

// TestVerifyStoreErrorStops: a read error other than missing or too
// large aborts Verify with that error, whichever worker meets it, with or
// without Keep; objects after it are not handed over as intact.
func TestVerifyStoreErrorStops(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sums []hashchain.Hash
	for i := range 200 {
		ref, err := s.Put(ctx, []byte{byte(i), byte(i >> 8), 'x'})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	for _, keep := range []bool{false, true} {
		opts := evidence.VerifyOptions{Concurrency: 3}
		if keep {
			opts.Keep = func(hashchain.Hash) func([]byte, bool) { return func([]byte, bool) {} }
		}
		rep, err := evidence.Verify(ctx, failingStore{Store: s, bad: sums[50]}, evidence.Sums(sums), opts)
		if err == nil || !strings.Contains(err.Error(), "disk on fire") || rep != nil {
			t.Fatalf("keep %v: Verify = %v, %v; want the store's error", keep, rep, err)
		}
	}
}

// TestVerifyCancelled: a caller that gives up mid-way gets an error, never
// a report of what happened to be checked by then.
func TestVerifyCancelled(t *testing.T) {
	s, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sums []hashchain.Hash
	for i := range 50 {
		ref, err := s.Put(context.Background(), []byte{byte(i), 'c'})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	for _, keep := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		refs := func(yield func(hashchain.Hash, error) bool) {
			for i, sum := range sums {
				if i == 20 {
					cancel() // the caller gives up while references still come
				}
				if !yield(sum, nil) {
					return
				}
			}
		}
		opts := evidence.VerifyOptions{}
		if keep {
			opts.Keep = func(hashchain.Hash) func([]byte, bool) { return func([]byte, bool) {} }
		}
		rep, err := evidence.Verify(ctx, s, refs, opts)
		if !errors.Is(err, context.Canceled) || rep != nil {
			t.Fatalf("keep %v: Verify = %+v, %v; want context.Canceled", keep, rep, err)
		}
	}
}
