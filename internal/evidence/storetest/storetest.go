// Package storetest is the conformance suite every evidence.Store
// implementation must pass. An implementation's tests call Run with a
// Harness that makes fresh, empty stores and can write behind the store's
// back to simulate damage.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// Harness adapts one Store implementation to the suite.
type Harness struct {
	// New returns a fresh, empty store opened with opts; it is closed by
	// the suite.
	New func(t *testing.T, opts evidence.Options) evidence.Store
	// Tamper writes data at the address of sum directly, bypassing the
	// store's checks, as damage or an attacker would.
	Tamper func(t *testing.T, s evidence.Store, sum hashchain.Hash, data []byte)
	// Plant writes data at the store-relative name ("/"-separated, any
	// name the backend can hold) directly, as another program would.
	Plant func(t *testing.T, s evidence.Store, name string, data []byte)
}

// Run runs every conformance test as a subtest of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"IdempotentPut", testIdempotentPut},
		{"ConcurrentPut", testConcurrentPut},
		{"DifferentContentAtAddress", testDifferentContent},
		{"Missing", testMissing},
		{"Walk", testWalk},
		{"SizeLimit", testSizeLimit},
		{"PutFile", testPutFile},
		{"PutFileRejectsBadNames", testPutFileBadNames},
		{"Verify", testVerify},
		{"VerifyClean", testVerifyClean},
		{"Survey", testSurvey},
		{"VerifyUnreferenced", testVerifyUnreferenced},
		{"Canceled", testCanceled},
		{"Delete", testDelete},
		{"PutAll", testPutAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

func newStore(t *testing.T, h Harness, opts evidence.Options) evidence.Store {
	t.Helper()
	s := h.New(t, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func sumOf(b []byte) hashchain.Hash { return hashchain.Hash(sha256.Sum256(b)) }

func mustPut(t *testing.T, s evidence.Store, data []byte) evidence.Ref {
	t.Helper()
	ref, err := s.Put(context.Background(), data)
	if err != nil {
		t.Fatalf("put %d bytes: %v", len(data), err)
	}
	return ref
}

func testRoundTrip(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	if s.URL() == "" {
		t.Error("URL() is empty")
	}
	for _, data := range [][]byte{
		[]byte(`{"id":"m1","text":"hello"}`),
		{}, // an empty body is evidence too
		bytes.Repeat([]byte{0, 1, 2, 0xff}, 100_000),
	} {
		ref := mustPut(t, s, data)
		want := evidence.Ref{Sum: sumOf(data), Size: int64(len(data))}
		if ref != want {
			t.Errorf("put ref = %+v, want %+v", ref, want)
		}
		got, err := s.Get(ctx, ref.Sum)
		if err != nil {
			t.Fatalf("get %s: %v", ref.Sum, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("get %s: %d bytes differ from the %d put", ref.Sum, len(got), len(data))
		}
		if ok, err := s.Exists(ctx, ref.Sum); err != nil || !ok {
			t.Errorf("exists %s = %v, %v; want true", ref.Sum, ok, err)
		}
	}
}

func testIdempotentPut(t *testing.T, h Harness) {
	s := newStore(t, h, evidence.Options{})
	data := []byte("same bytes twice")
	first := mustPut(t, s, data)
	second := mustPut(t, s, data)
	if first.Existed || !second.Existed {
		t.Errorf("Existed: first %v, second %v; want false, true", first.Existed, second.Existed)
	}
	if first.Sum != second.Sum || second.Size != int64(len(data)) {
		t.Errorf("refs differ: %+v vs %+v", first, second)
	}
	n := 0
	if err := s.Walk(context.Background(), func(hashchain.Hash) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("walk after two identical puts found %d objects, want 1", n)
	}
}

func testConcurrentPut(t *testing.T, h Harness) {
	s := newStore(t, h, evidence.Options{})
	data := []byte("raced by several writers")
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	existed := make([]bool, writers)
	for i := range writers {
		wg.Go(func() {
			ref, err := s.Put(context.Background(), data)
			errs[i], existed[i] = err, ref.Existed
		})
	}
	wg.Wait()
	fresh := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
		if !existed[i] {
			fresh++
		}
	}
	// Exactly one writer created the object; the others found it.
	if fresh != 1 {
		t.Errorf("%d writers reported creating the object, want exactly 1", fresh)
	}
	got, err := s.Get(context.Background(), sumOf(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("get after concurrent puts = %q, %v", got, err)
	}
}

func testDifferentContent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	orig, forged := []byte("what the API returned"), []byte("what someone put there instead")
	sum := sumOf(orig)
	h.Tamper(t, s, sum, forged)

	_, err := s.Put(ctx, orig)
	if !errors.Is(err, evidence.ErrCorrupt) {
		t.Fatalf("put over different content: err = %v, want ErrCorrupt", err)
	}
	// Nothing was overwritten: the forged bytes are still there for a
	// person to look at.
	got, err := s.Get(ctx, sum)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !bytes.Equal(got, forged) {
		t.Errorf("get after refused put = %q, want the forged bytes left in place", got)
	}
}

func testMissing(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	mustPut(t, s, []byte("something else"))
	sum := sumOf([]byte("never stored"))
	if _, err := s.Get(ctx, sum); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get absent: err = %v, want fs.ErrNotExist", err)
	}
	if ok, err := s.Exists(ctx, sum); err != nil || ok {
		t.Errorf("exists absent = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.GetFile(ctx, "checkpoints/none.note"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get file absent: err = %v, want fs.ErrNotExist", err)
	}
}

// testDelete: custody erase's contract. A deleted object is gone for Get,
// Exists and Walk, its neighbours are untouched, deleting it again (or
// an object never stored) succeeds, and it can be stored again.
func testDelete(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	gone := mustPut(t, s, []byte("erase me: +15555550100 yes")).Sum
	kept := mustPut(t, s, []byte("keep me")).Sum
	if err := s.Delete(ctx, gone); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Get(ctx, gone); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get deleted: err = %v, want fs.ErrNotExist", err)
	}
	if ok, err := s.Exists(ctx, gone); err != nil || ok {
		t.Errorf("exists deleted = %v, %v; want false, nil", ok, err)
	}
	var walked []hashchain.Hash
	if err := s.Walk(ctx, func(sum hashchain.Hash) error { walked = append(walked, sum); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked, []hashchain.Hash{kept}) {
		t.Errorf("walk after delete = %v, want only %s", walked, kept)
	}
	if b, err := s.Get(ctx, kept); err != nil || string(b) != "keep me" {
		t.Errorf("neighbour after delete: %q, %v", b, err)
	}
	if err := s.Delete(ctx, gone); err != nil {
		t.Errorf("delete again: %v", err)
	}
	if err := s.Delete(ctx, sumOf([]byte("never stored"))); err != nil {
		t.Errorf("delete absent: %v", err)
	}
	if ref := mustPut(t, s, []byte("erase me: +15555550100 yes")); ref.Existed {
		t.Errorf("put after delete says the object existed")
	}
	if err := evidence.ReadOnly(s).Delete(ctx, kept); !errors.Is(err, evidence.ErrReadOnly) {
		t.Errorf("read-only delete: err = %v, want ErrReadOnly", err)
	}
}

func testWalk(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	if err := s.Walk(ctx, func(sum hashchain.Hash) error {
		t.Errorf("walk of an empty store yielded %s", sum)
		return nil
	}); err != nil {
		t.Fatalf("walk empty: %v", err)
	}
	var want []hashchain.Hash
	for i := range 40 {
		want = append(want, mustPut(t, s, fmt.Appendf(nil, "object %d", i)).Sum)
	}
	// Side files are not evidence and must not be walked.
	if err := s.PutFile(ctx, "checkpoints/40.note", []byte("note")); err != nil {
		t.Fatal(err)
	}
	var got []hashchain.Hash
	if err := s.Walk(ctx, func(sum hashchain.Hash) error { got = append(got, sum); return nil }); err != nil {
		t.Fatalf("walk: %v", err)
	}
	if !slices.IsSortedFunc(got, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) }) {
		t.Errorf("walk order is not ascending by address")
	}
	slices.SortFunc(want, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(got, want) {
		t.Errorf("walk yielded %d sums, want the %d put", len(got), len(want))
	}

	stop := errors.New("stop here")
	n := 0
	err := s.Walk(ctx, func(hashchain.Hash) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("walk with failing fn: err = %v after %d calls, want the fn's error after 1", err, n)
	}
}

func testSizeLimit(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{MaxSize: 64})
	if _, err := s.Put(ctx, make([]byte, 65)); !errors.Is(err, evidence.ErrTooLarge) {
		t.Errorf("put over limit: err = %v, want ErrTooLarge", err)
	}
	ok := mustPut(t, s, make([]byte, 64))
	if _, err := s.Get(ctx, ok.Sum); err != nil {
		t.Errorf("get at limit: %v", err)
	}
	// An oversized object planted behind the store's back is not read
	// into memory.
	sum := sumOf([]byte("small"))
	h.Tamper(t, s, sum, make([]byte, 1000))
	if _, err := s.Get(ctx, sum); !errors.Is(err, evidence.ErrTooLarge) {
		t.Errorf("get oversized: err = %v, want ErrTooLarge", err)
	}
	if err := s.PutFile(ctx, "big", make([]byte, 65)); !errors.Is(err, evidence.ErrTooLarge) {
		t.Errorf("put file over limit: err = %v, want ErrTooLarge", err)
	}
}

func testPutFile(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	for _, name := range []string{"checkpoints/12.note", "MANIFEST", "runs/2026-11-26/run_1.json"} {
		if err := s.PutFile(ctx, name, []byte(name)); err != nil {
			t.Fatalf("put file %s: %v", name, err)
		}
		got, err := s.GetFile(ctx, name)
		if err != nil || string(got) != name {
			t.Errorf("get file %s = %q, %v", name, got, err)
		}
	}
	// Side files are replaced, not refused.
	if err := s.PutFile(ctx, "MANIFEST", []byte("v2")); err != nil {
		t.Fatalf("replace file: %v", err)
	}
	if got, err := s.GetFile(ctx, "MANIFEST"); err != nil || string(got) != "v2" {
		t.Errorf("get replaced file = %q, %v; want v2", got, err)
	}
}

// BadNames are side-file names every store must refuse.
var BadNames = []string{
	"",
	"../escape",
	"checkpoints/../../escape",
	"checkpoints/..",
	"./x",
	"/etc/passwd",
	"a//b",
	"a/",
	`a\..\b`,
	".hidden",
	"checkpoints/.tmp-123",
	"sha256/ab/cd",
	"sha256",
	"a b",
	"a\x00b",
	"caf\u00e9",
}

func testPutFileBadNames(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	for _, name := range BadNames {
		if err := s.PutFile(ctx, name, []byte("x")); !errors.Is(err, evidence.ErrBadName) {
			t.Errorf("put file %q: err = %v, want ErrBadName", name, err)
		}
		if _, err := s.GetFile(ctx, name); !errors.Is(err, evidence.ErrBadName) {
			t.Errorf("get file %q: err = %v, want ErrBadName", name, err)
		}
	}
	n := 0
	if err := s.Walk(ctx, func(hashchain.Hash) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("refused side files left %d evidence objects", n)
	}
}

func testVerify(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	a := mustPut(t, s, []byte("message a")).Sum
	b := mustPut(t, s, []byte("message b")).Sum
	orphan := mustPut(t, s, []byte("written, then the run crashed")).Sum
	altered := sumOf([]byte("message d as captured"))
	forged := []byte("message d, edited")
	h.Tamper(t, s, altered, forged)
	missing := sumOf([]byte("message e, never stored"))

	var progress []int
	lastTotal := 0
	r, err := evidence.Verify(ctx, s, evidence.Sums([]hashchain.Hash{a, b, altered, missing, a}),
		evidence.VerifyOptions{Concurrency: 2, Progress: func(done, total int) {
			// Objects are hashed while references still arrive: the
			// total is the distinct references seen so far.
			if total < lastTotal || total > 4 || done > total {
				t.Errorf("progress (%d, %d) after total %d, want done <= total, total growing to 4", done, total, lastTotal)
			}
			lastTotal = total
			progress = append(progress, done)
		}})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if r.OK() {
		t.Error("report OK() with missing and altered evidence")
	}
	if r.Referenced != 4 || r.Stored != 4 {
		t.Errorf("referenced %d stored %d, want 4 and 4", r.Referenced, r.Stored)
	}
	if !slices.Equal(r.Missing, []hashchain.Hash{missing}) {
		t.Errorf("missing = %v, want [%s]", r.Missing, missing)
	}
	wantAlt := []evidence.Altered{{Sum: altered, Actual: sumOf(forged)}}
	if !slices.Equal(r.Altered, wantAlt) {
		t.Errorf("altered = %+v, want %+v", r.Altered, wantAlt)
	}
	if !slices.Equal(r.Unreferenced, []hashchain.Hash{orphan}) {
		t.Errorf("unreferenced = %v, want [%s]", r.Unreferenced, orphan)
	}
	if !slices.Equal(progress, []int{1, 2, 3, 4}) {
		t.Errorf("progress calls = %v, want 1..4", progress)
	}

	// A caller that keeps the distinct references itself (Distinct): the
	// same report, with the membership asked of the caller once the
	// references have ended, and never of a sum before it was yielded.
	keptRefs := map[hashchain.Hash]bool{}
	refsEnded, asked := false, 0
	distinct := func(yield func(hashchain.Hash, error) bool) {
		for _, sum := range []hashchain.Hash{a, b, altered, missing} {
			keptRefs[sum] = true
			if !yield(sum, nil) {
				return
			}
		}
		refsEnded = true
	}
	rd, err := evidence.Verify(ctx, s, distinct, evidence.VerifyOptions{Concurrency: 2, Distinct: func(sum hashchain.Hash) bool {
		if !refsEnded {
			t.Errorf("Distinct(%s) asked before the references ended", sum)
		}
		asked++
		return keptRefs[sum]
	}})
	if err != nil {
		t.Fatalf("verify with Distinct: %v", err)
	}
	if rd.Referenced != r.Referenced || rd.Stored != r.Stored || !slices.Equal(rd.Missing, r.Missing) ||
		!slices.Equal(rd.Altered, r.Altered) || !slices.Equal(rd.Unreferenced, r.Unreferenced) {
		t.Errorf("report with Distinct %+v, without %+v: want the same", rd, r)
	}
	if asked != rd.Stored {
		t.Errorf("Distinct asked %d times, want once for each of the %d stored objects", asked, rd.Stored)
	}

	refErr := errors.New("ledger unreadable")
	_, err = evidence.Verify(ctx, s, func(yield func(hashchain.Hash, error) bool) {
		_ = yield(a, nil) && yield(hashchain.Hash{}, refErr)
	}, evidence.VerifyOptions{})
	if !errors.Is(err, refErr) {
		t.Errorf("verify with failing references: err = %v, want %v", err, refErr)
	}
}

func testVerifyClean(t *testing.T, h Harness) {
	s := newStore(t, h, evidence.Options{})
	var sums []hashchain.Hash
	for i := range 10 {
		sums = append(sums, mustPut(t, s, fmt.Appendf(nil, "m%d", i)).Sum)
	}
	r, err := evidence.Verify(context.Background(), s, evidence.Sums(sums), evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || len(r.Unreferenced) != 0 || r.Referenced != 10 || r.Stored != 10 {
		t.Errorf("clean store report = %+v", r)
	}
}

// testSurvey: Survey names, beside the objects, every other name under
// sha256/, and Files every name beside it, so that verify can say what is
// in the store that is not custody's; Walk still skips them.
func testSurvey(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{})
	if err := s.Files(ctx, func(name string) error {
		t.Errorf("files of an empty store named %q", name)
		return nil
	}); err != nil {
		t.Fatalf("files of an empty store: %v", err)
	}
	obj := mustPut(t, s, []byte("an object"))
	// Under another object's name, in the wrong shard.
	other := sumOf([]byte("another object"))
	wrongShard := fmt.Sprintf("%s/%02x/%s", evidence.Dir, other[0]^1, other)
	upper := fmt.Sprintf("%s/%02x/%X", evidence.Dir, other[0], other[:])
	planted := []string{
		wrongShard,
		upper,
		evidence.Dir + "/03/extra.txt",
		evidence.Dir + "/zz/foo",
		evidence.Dir + "/README",
		evidence.Dir + "/ab/sub/deeper/x",
	}
	for _, name := range planted {
		h.Plant(t, s, name, []byte("not custody's"))
	}
	if err := s.PutFile(ctx, "checkpoints/12.note", []byte("note")); err != nil {
		t.Fatal(err)
	}
	beside := []string{"stray.bin", "junk/deep/file", "checkpoints/9999.note"}
	for _, name := range beside {
		h.Plant(t, s, name, []byte("not custody's"))
	}

	var objects []hashchain.Hash
	var strays []string
	if err := s.Survey(ctx, func(sum hashchain.Hash) error {
		objects = append(objects, sum)
		return nil
	}, func(name string) error {
		strays = append(strays, name)
		return nil
	}); err != nil {
		t.Fatalf("survey: %v", err)
	}
	if !slices.Equal(objects, []hashchain.Hash{obj.Sum}) {
		t.Errorf("survey objects = %v, want [%s]", objects, obj.Sum)
	}
	slices.Sort(strays)
	slices.Sort(planted)
	if !slices.Equal(strays, planted) {
		t.Errorf("survey strays = %q, want %q", strays, planted)
	}
	var files []string
	if err := s.Files(ctx, func(name string) error { files = append(files, name); return nil }); err != nil {
		t.Fatalf("files: %v", err)
	}
	want := append([]string{"checkpoints/12.note"}, beside...)
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
	var walked []hashchain.Hash
	if err := s.Walk(ctx, func(sum hashchain.Hash) error { walked = append(walked, sum); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked, objects) {
		t.Errorf("walk = %v, want only the object, %s", walked, obj.Sum)
	}
	// What the callbacks return stops the survey and is returned; a
	// read-only store surveys and lists as the store does.
	stop := errors.New("stop here")
	if err := evidence.ReadOnly(s).Survey(ctx, func(hashchain.Hash) error { return nil }, func(string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("survey with failing strays: err = %v, want %v", err, stop)
	}
	if err := evidence.ReadOnly(s).Files(ctx, func(string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("files with failing fn: err = %v, want %v", err, stop)
	}

	// Verify reports the strays, and they do not fail it.
	r, err := evidence.Verify(ctx, s, evidence.Sums([]hashchain.Hash{obj.Sum}), evidence.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || !slices.Equal(r.Strays, planted) || len(r.Unreferenced) != 0 {
		t.Errorf("verify: OK %v, strays %q, unreferenced %v; want OK, %q, none", r.OK(), r.Strays, r.Unreferenced, planted)
	}
}

// testVerifyUnreferenced: objects nothing references are re-hashed too.
// One that does not hash to its address is no leftover of an interrupted
// run (every write names an object only once its bytes are durable):
// the report fails.
func testVerifyUnreferenced(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{MaxSize: 64})
	ref := mustPut(t, s, []byte("referenced")).Sum
	orphan := mustPut(t, s, []byte("left by an interrupted run")).Sum
	bad := sumOf([]byte("never written by custody"))
	h.Tamper(t, s, bad, []byte("other bytes"))
	big := sumOf([]byte("big"))
	h.Tamper(t, s, big, make([]byte, 65))
	kept := 0
	r, err := evidence.Verify(ctx, s, evidence.Sums([]hashchain.Hash{ref}), evidence.VerifyOptions{
		Concurrency: 2,
		Keep: func(hashchain.Hash) func([]byte, bool) {
			kept++
			return func([]byte, bool) {}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Error("report OK() with an unreferenced object that does not hash to its address")
	}
	if kept != 1 {
		t.Errorf("Keep asked %d times, want once (for the referenced object only)", kept)
	}
	want := []hashchain.Hash{orphan, bad, big}
	slices.SortFunc(want, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(r.Unreferenced, want) {
		t.Errorf("unreferenced = %v, want %v", r.Unreferenced, want)
	}
	if len(r.Missing)+len(r.Altered) != 0 || r.Referenced != 1 || r.Stored != 4 {
		t.Errorf("report = %+v: want 1 referenced, 4 stored, none missing or altered", r)
	}
	if len(r.UnreferencedAltered) != 2 {
		t.Fatalf("unreferenced altered = %+v, want %s and %s", r.UnreferencedAltered, bad, big)
	}
	for _, a := range r.UnreferencedAltered {
		switch a.Sum {
		case bad:
			if a.Actual != sumOf([]byte("other bytes")) {
				t.Errorf("unreferenced altered %s: actual %s, want the planted bytes' hash", a.Sum, a.Actual)
			}
		case big:
			if !a.Actual.IsZero() || !strings.Contains(a.Detail, "limit") {
				t.Errorf("unreferenced over the limit: %+v, want a zero hash and a detail naming the limit", a)
			}
		default:
			t.Errorf("unreferenced altered %s: want only %s and %s", a.Sum, bad, big)
		}
	}
}

func testCanceled(t *testing.T, h Harness) {
	s := newStore(t, h, evidence.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, []byte("late")); !errors.Is(err, context.Canceled) {
		t.Errorf("put with canceled context: err = %v, want context.Canceled", err)
	}
	if ok, _ := s.Exists(context.Background(), sumOf([]byte("late"))); ok {
		t.Error("put with canceled context stored the object")
	}
	_, err := evidence.Verify(ctx, s, evidence.Sums([]hashchain.Hash{sumOf([]byte("x"))}), evidence.VerifyOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("verify with canceled context: err = %v, want context.Canceled", err)
	}
}

// testPutAll: evidence.PutAll (a store's PutBatch when it has one) stores
// what Put would, with the same Existed answers, and refuses what Put
// refuses.
func testPutAll(t *testing.T, h Harness) {
	ctx := context.Background()
	s := newStore(t, h, evidence.Options{MaxSize: 64})
	old := mustPut(t, s, []byte("stored before"))
	data := [][]byte{[]byte("conversation"), []byte("bulk page"), []byte("conversation"), []byte("stored before"), []byte("hold")}
	refs, err := evidence.PutAll(ctx, s, data)
	if err != nil {
		t.Fatalf("put all: %v", err)
	}
	wantExisted := []bool{false, false, true, true, false}
	for i, d := range data {
		if refs[i].Sum != sumOf(d) || refs[i].Size != int64(len(d)) || refs[i].Existed != wantExisted[i] {
			t.Errorf("ref %d = %+v, want sum of %q, existed %v", i, refs[i], d, wantExisted[i])
		}
		got, err := s.Get(ctx, refs[i].Sum)
		if err != nil || !bytes.Equal(got, d) {
			t.Errorf("get %d: %q, %v; want %q", i, got, err, d)
		}
	}
	if refs[3].Sum != old.Sum {
		t.Errorf("the object stored before has sum %s, then %s", old.Sum, refs[3].Sum)
	}
	n := 0
	if err := s.Walk(ctx, func(hashchain.Hash) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("store holds %d objects, want 4", n)
	}
	if _, err := evidence.PutAll(ctx, s, [][]byte{[]byte("fine"), bytes.Repeat([]byte("x"), 65)}); !errors.Is(err, evidence.ErrTooLarge) {
		t.Errorf("put all with an object over the limit: err = %v, want ErrTooLarge", err)
	}
	forged := sumOf([]byte("captured"))
	h.Tamper(t, s, forged, []byte("edited"))
	if _, err := evidence.PutAll(ctx, s, [][]byte{[]byte("other"), []byte("captured")}); !errors.Is(err, evidence.ErrCorrupt) {
		t.Errorf("put all over different bytes at the address: err = %v, want ErrCorrupt", err)
	}
	if got, _ := s.Get(ctx, forged); string(got) != "edited" {
		t.Errorf("put all replaced the object at a corrupt address: %q", got)
	}
}

// BenchPut stores b.N distinct 4 KiB objects (about a bulk-messages page)
// in s: the one Put benchmark every backend runs.
func BenchPut(b *testing.B, s evidence.Store) {
	ctx := context.Background()
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(data, uint64(i))
		if _, err := s.Put(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}
