package evidence_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// TestVerifyUnreadableObject: an object the store cannot read (an I/O
// error, not missing or too large) is reported unreadable, and the check
// goes on: every other object is checked, an altered one found, with or
// without Keep (review-commits5 L1). Before, the first such error stopped
// Verify and the report, failures found included, was thrown away.
func TestVerifyUnreadableObject(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{})
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
	altered := sums[150]
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(evidence.Key(altered))), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		opts := evidence.VerifyOptions{Concurrency: 3}
		handed := map[hashchain.Hash]bool{}
		var mu sync.Mutex
		if keep {
			opts.Keep = func(sum hashchain.Hash) func([]byte, bool) {
				return func(_ []byte, intact bool) { mu.Lock(); handed[sum] = intact; mu.Unlock() }
			}
		}
		rep, err := evidence.Verify(ctx, failingStore{Store: s, bad: sums[50]}, evidence.Sums(sums), opts)
		if err != nil || rep == nil {
			t.Fatalf("keep %v: Verify = %v, %v; want a report", keep, rep, err)
		}
		if len(rep.Unreadable) != 1 || rep.Unreadable[0].Sum != sums[50] || !strings.Contains(rep.Unreadable[0].Err.Error(), "disk on fire") {
			t.Errorf("keep %v: unreadable %+v; want %s, the store's error", keep, rep.Unreadable, sums[50])
		}
		if len(rep.Altered) != 1 || rep.Altered[0].Sum != altered || rep.Referenced != 200 || rep.Checked != 199 || len(rep.Missing) != 0 {
			t.Errorf("keep %v: altered %v, referenced %d, checked %d, missing %v; want %s altered, 200 referenced, 199 checked", keep, rep.Altered, rep.Referenced, rep.Checked, rep.Missing, altered)
		}
		if keep && (handed[sums[50]] || len(handed) != 200) {
			t.Errorf("keep: %d handed over, the unreadable one as intact %v; want all 200, it not intact", len(handed), handed[sums[50]])
		}
	}
}

// TestVerifyUnreadableStoreStops: a store that can read nothing (offline,
// its credentials refused) stops Verify after maxUnreadableRun objects in
// a row, not after trying every one, with the store's error and the
// report of what was found until then: the failures in it still count.
func TestVerifyUnreadableStoreStops(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	missing := sumOf([]byte("never stored"))
	sums := []hashchain.Hash{missing}
	for i := range 1000 {
		ref, err := s.Put(ctx, []byte{byte(i), byte(i >> 8), 'd'})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	// One worker, the missing object first: found before the store fails.
	rep, err := evidence.Verify(ctx, offlineStore{s}, evidence.Sums(sums), evidence.VerifyOptions{Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), "stopped after 64 objects in a row could not be read") || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("Verify = %v; want it stopped after 64 objects in a row, the store's error named", err)
	}
	if rep == nil || len(rep.Missing) != 1 || rep.Missing[0] != missing || len(rep.Unreadable) != 64 || rep.Checked != 1 {
		t.Fatalf("report %+v; want the missing object, 64 unreadable, 1 checked", rep)
	}
}

// TestVerifyStopsWithReferencesPending: a check stopped by the store
// returns while the caller's references wait, as verify's do (its walk
// waits for the derive stage, which waits for Verify to return): before,
// Verify waited for the next reference, and verify --evidence hung when
// a read error stopped the check after the last reference was taken.
func TestVerifyStopsWithReferencesPending(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sums []hashchain.Hash
	for i := range 70 {
		ref, err := s.Put(ctx, []byte{byte(i), 'p'})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	// Every read fails only once every reference is taken (64 workers
	// and as many queued hold the 70), so the check stops while Verify
	// waits for the next one.
	taken, end, ended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	refs := func(yield func(hashchain.Hash, error) bool) {
		defer close(ended)
		for _, sum := range sums {
			if !yield(sum, nil) {
				return
			}
		}
		close(taken)
		<-end // more may come, until the caller ends them
	}
	rep, err := evidence.Verify(ctx, gatedStore{offlineStore{s}, taken}, refs, evidence.VerifyOptions{Concurrency: 64})
	close(end)
	<-ended
	if err == nil || rep == nil || len(rep.Unreadable) < 64 {
		t.Fatalf("Verify = %v, %v; want it stopped, the unreadable objects reported", rep, err)
	}
}

// gatedStore reads once open is closed.
type gatedStore struct {
	evidence.Store
	open chan struct{}
}

func (g gatedStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	<-g.open
	return g.Store.Get(ctx, sum)
}

// offlineStore reads nothing, as a store that cannot be reached, but
// knows which objects are absent (a listing, a HEAD that answered).
type offlineStore struct{ evidence.Store }

func (o offlineStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	if _, err := o.Store.Get(ctx, sum); errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return nil, fmt.Errorf("evidence: get %s: offline", evidence.Key(sum))
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
