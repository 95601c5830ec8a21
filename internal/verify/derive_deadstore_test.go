package verify_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/verify"
)

// deadStore is a store none of whose objects can be read (an S3 store
// that cannot be reached): every Get fails, and is counted. Only the
// Store interface is promoted: no Open or GetInto that would read.
type deadStore struct {
	evidence.Store
	gets atomic.Int64
}

func (s *deadStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.gets.Add(1)
	return nil, fmt.Errorf("evidence: get %s: offline", evidence.Key(sum))
}

// TestDeriveAsksADeadStoreNoMore (review-commits7 M3): once the evidence
// check has stopped (64 objects in a row could not be read), the derive
// stage does not ask the store for the objects the check did not read:
// they are not available. Before, with derive on (the default), it asked
// the store for every object itself, twice for an object two entries
// share (3,000 Gets here, where the check stopped after 64): on a dead
// S3 store, retries for every object of the matter.
func TestDeriveAsksADeadStoreNoMore(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "evidence")
	store, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 1500
	var batch []leaf.Entry
	for i := range n {
		data := fmt.Appendf(nil, `{"entities":[%d]}`, i)
		sum := hashchain.Hash(sha256.Sum256(data))
		p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o444); err != nil {
			t.Fatal(err)
		}
		// Two entries share each object.
		conv := fmt.Sprintf("conv-%d", i)
		batch = append(batch, message(conv, 0, sum), message(conv, 1, sum))
	}
	if _, err := f.l.Append(f.ctx, batch...); err != nil {
		t.Fatal(err)
	}
	f.checkpoint()
	for _, noDerive := range []bool{true, false} {
		ds := &deadStore{Store: store}
		rep := f.verify(verify.Options{Evidence: ds, NoDerive: noDerive, MaxFindings: 10000})
		if rep.Evidence == nil || !rep.Evidence.Stopped {
			t.Fatalf("noDerive=%v: the evidence check did not stop: %+v", noDerive, rep.Evidence)
		}
		// 64 in a row, and those the other workers (max(4, GOMAXPROCS,
		// the store's parallelism)) had begun when the 64th failed: none
		// from the derive stage, neither after the stop nor for the
		// second entry naming an object the check could not read (the
		// old code: 3,000).
		workers := max(4, runtime.GOMAXPROCS(0), evidence.Parallelism(store))
		if got := ds.gets.Load(); got > int64(64+2*workers) {
			t.Errorf("noDerive=%v: %d Gets of a store that failed every one, for %d objects; want the check's 64 and those in flight", noDerive, got, n)
		}
		if !noDerive {
			if rep.Derived == nil || rep.Derived.Unavailable != 2*n || rep.Derived.Entries != 0 {
				t.Errorf("derived summary %+v; want all %d entries unavailable, none derived", rep.Derived, 2*n)
			}
		}
		if len(rep.Unchecked) == 0 {
			t.Error("a store none of whose objects could be read: nothing named as not checked")
		}
	}
}
