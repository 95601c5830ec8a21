package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/hashchain"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Concurrency is how many objects are read and hashed at once; when 0,
	// the number of processors, at least 4, and at least the store's
	// Parallelism (a remote store's latency wants many requests in
	// flight even on one core).
	Concurrency int
	// Progress, when set, is called after each referenced object is
	// checked with the count done and the number of distinct references
	// seen so far (objects are hashed while the references still arrive,
	// so the total grows until they end); calls are serialized.
	Progress func(done, total int)
	// Keep, when set, is asked about each distinct referenced object
	// before it is hashed. When it returns a function, the object is read
	// whole (Get) instead of streamed, hashed once, and the function is
	// called, exactly once, with the bytes and whether they hash to the
	// address (nil and false when the object is missing or unreadable):
	// a caller that also parses the object then reads it once, not twice.
	// It is not called for objects not reached because Verify stopped
	// early (an error, or cancellation).
	Keep func(sum hashchain.Hash) func(data []byte, intact bool)
	// Distinct, when set, says that referenced yields each sum once and
	// that the caller keeps them: Distinct(sum) reports whether sum was
	// among them, and is called only once referenced has ended. Verify
	// then keeps no set of the sums of its own, which on a large store
	// is most of its memory (a caller that must remember each reference
	// anyway, such as the ledger's first reference to each object, would
	// otherwise hold two sets of the same sums).
	Distinct func(sum hashchain.Hash) bool
}

// Report is what Verify found. Lists are sorted by address (Strays by
// name).
type Report struct {
	Referenced   int              // distinct sums the caller referenced
	Stored       int              // evidence objects found in the store
	Missing      []hashchain.Hash // referenced, not in the store
	Altered      []Altered        // referenced, stored, but not those bytes
	Unreferenced []hashchain.Hash // in the store, referenced by nothing
	// UnreferencedAltered are the unreferenced objects that do not hash
	// to their address (or cannot be re-hashed: over the size limit, not
	// a regular file). Every object is stored whole under a temporary
	// name and named only once it is durable, so no interrupted run
	// leaves one: the store was damaged or written by something else.
	UnreferencedAltered []Altered
	// Strays are the names under Dir that are not evidence objects
	// (Store.Survey): temporary files of unfinished writes, misplaced or
	// misnamed files, whatever else is there. None is read.
	Strays []string
	// Unreadable are the objects that could not be read (an I/O error,
	// a refused request: neither absent nor too large), referenced or
	// not: neither intact nor altered, not checked. One such object
	// does not stop the check, so that whoever can make an object
	// unreadable cannot hide the others' failures behind it.
	Unreadable []Unreadable
	// Checked counts the referenced objects given a verdict: present
	// and intact, missing or altered. It is Referenced less the
	// unreadable ones, and less those never reached when Verify stopped
	// early.
	Checked int
}

// Unreadable is an object the store could not read.
type Unreadable struct {
	Sum          hashchain.Hash
	Unreferenced bool  // listed by the store, referenced by nothing
	Err          error // the store's error, naming the object
}

// maxUnreadableRun is how many objects in a row, none read between them,
// may fail to read before Verify takes the store for unreadable and
// stops (a store offline, its credentials refused): without it every
// object of a store that cannot be reached would be tried, and retried.
const maxUnreadableRun = 64

// Altered is a stored object that does not hash to its address.
type Altered struct {
	Sum    hashchain.Hash // the address (what the ledger references)
	Actual hashchain.Hash // SHA-256 of what is stored there; zero if unread
	Detail string         // why Actual is zero, e.g. over the size limit
}

// OK reports whether every referenced object is present and intact, and
// every unreferenced one too. Unreferenced evidence that hashes to its
// address does not make a report fail: an interrupted export leaves it
// behind by design (evidence is written before the ledger). Nor do
// strays, which are not evidence: the caller says what they are.
func (r *Report) OK() bool {
	return len(r.Missing) == 0 && len(r.Altered) == 0 && len(r.UnreferencedAltered) == 0
}

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
// evidence_sha256 in the ledger; duplicates are fine) and surveys the
// store (Store.Survey) for objects nothing references, which it re-hashes
// too once the references end, and for names under Dir that are no
// object (Report.Strays). An object the store cannot read is
// Report.Unreadable, and the check goes on. An error from referenced, a
// store whose listing fails, or maxUnreadableRun objects in a row that
// cannot be read stop it with an error, returned with the report of what
// was found until then (not complete: failures in it are failures, the
// rest is unchecked); cancellation returns the error alone.
//
// Each object is handed to a worker as soon as referenced yields it, so a
// caller that produces references slowly (a walk over the ledger) has them
// hashed meanwhile; a store that is an Opener is read in a stream through
// one buffer per worker, so memory does not grow with object size. Memory
// grows with the number of objects stored (their sums are listed to find
// the unreferenced ones) and, unless opts.Distinct answers for them, with
// the number of distinct referenced sums.
func Verify(ctx context.Context, s Store, referenced iter.Seq2[hashchain.Hash, error], opts VerifyOptions) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evidence: verify: %w", err)
	}
	r := &Report{}
	workers := opts.Concurrency
	if workers <= 0 {
		workers = max(4, runtime.GOMAXPROCS(0), Parallelism(s))
	}
	var set map[hashchain.Hash]struct{} // the distinct references, unless opts.Distinct keeps them
	if opts.Distinct == nil {
		set = make(map[hashchain.Hash]struct{})
	}
	var mu sync.Mutex // guards r's lists, done, total and run
	done, total := 0, 0
	run := 0 // objects that failed to read since one was last read
	g, gctx := errgroup.WithContext(ctx)
	// The store is listed meanwhile (for S3, list requests beside the
	// reads); what nothing references is known once the references end.
	var stored []hashchain.Hash
	var strays []string
	// Not gctx: errgroup cancels that when Wait returns, and the walk
	// may outlast the hashing.
	wctx, cancelWalk := context.WithCancel(ctx)
	defer cancelWalk()
	walked := make(chan error, 1)
	go func() {
		var err error
		stored, strays, err = survey(wctx, s)
		walked <- err
	}()
	// A fixed set of workers, each with its own buffer, rather than a
	// goroutine an object: a worker that decodes what it read (Keep) grows
	// its stack once, not once an object (issue 16: stack copying was 4 %
	// of verify --evidence).
	jobs := make(chan verifyJob, workers)
	for range workers {
		g.Go(func() error {
			var buf []byte
			for j := range jobs {
				if err := gctx.Err(); err != nil {
					// A worker failed (g.Wait reports its error, the
					// first), or the caller gave up: stop, and say so.
					return fmt.Errorf("evidence: verify: %w", err)
				}
				if buf == nil {
					buf = make([]byte, hashBufSize)
				}
				if err := verifyOne(gctx, s, j, buf, opts, r, &mu, &done, &total, &run); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// The references are pulled on a goroutine of their own, so that a
	// check stopped by a worker (gctx) stops waiting for them at once: a
	// caller's references may wait, in turn, on something that waits for
	// Verify to return (verify's walk waits for its derive stage, which
	// waits for an object a stopped worker never handed over): pulled
	// here, that was a deadlock. Left early, referenced is left at its
	// next yield, and ends when the caller ends it.
	type ref struct {
		sum hashchain.Hash
		err error
	}
	refc := make(chan ref, 1024) // buffered: a handoff per reference cost --no-derive a quarter of its time
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		defer close(refc)
		for sum, err := range referenced {
			select {
			case refc <- ref{sum, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var refErr error
	ended := true // the references ended, rather than being left early
refs:
	for {
		var it ref
		select {
		case got, ok := <-refc:
			if !ok {
				break refs
			}
			it = got
		case <-gctx.Done():
			ended = false
			break refs // a worker failed: g.Wait reports it
		}
		if it.err != nil {
			refErr = fmt.Errorf("evidence: verify: read references: %w", it.err)
			ended = false
			break
		}
		sum := it.sum
		if opts.Distinct == nil {
			if _, seen := set[sum]; seen {
				continue
			}
			set[sum] = struct{}{}
		}
		mu.Lock()
		total++
		mu.Unlock()
		select {
		case jobs <- verifyJob{sum: sum}:
		case <-gctx.Done():
			ended = false
			break refs // a worker failed: g.Wait reports it
		}
	}
	referencedSum := opts.Distinct
	if referencedSum == nil {
		referencedSum = func(sum hashchain.Hash) bool { _, ok := set[sum]; return ok }
	}
	// Every reference is queued: once the listing ends, what nothing
	// references is known, and it is re-hashed by the same workers. (Not
	// when the references were left early: referencedSum, opts.Distinct,
	// may be asked only once they have ended.)
	var walkErr error
	listed := false
	if ended && gctx.Err() == nil {
		select {
		case walkErr = <-walked:
			listed = true
		case <-gctx.Done(): // a worker failed: g.Wait reports it
		}
	}
	if listed && walkErr == nil {
	unrefs:
		for sum := range unreferencedIn(stored, referencedSum) {
			select {
			case jobs <- verifyJob{sum: sum, unreferenced: true}:
			case <-gctx.Done():
				break unrefs // a worker failed: g.Wait reports it
			}
		}
	}
	close(jobs)
	err := g.Wait()
	if err == nil {
		err = refErr
	}
	if err == nil && ctx.Err() != nil {
		// Cancelled between objects: what the report would say is not
		// complete.
		err = fmt.Errorf("evidence: verify: %w", ctx.Err())
	}
	if err != nil {
		cancelWalk()
		if !listed {
			<-walked
		}
		if ctx.Err() != nil {
			return nil, err
		}
	} else if walkErr != nil {
		err = walkErr // the store names the operation ("evidence: walk …: …")
	}
	// Every worker has returned: no lock needed.
	r.Referenced = total
	if listed && walkErr == nil {
		r.Stored = len(stored)
		r.Strays = strays
	}
	slices.SortFunc(r.Missing, compareHash)
	slices.SortFunc(r.Altered, func(a, b Altered) int { return compareHash(a.Sum, b.Sum) })
	slices.SortFunc(r.Unreferenced, compareHash)
	slices.SortFunc(r.UnreferencedAltered, func(a, b Altered) int { return compareHash(a.Sum, b.Sum) })
	slices.SortFunc(r.Unreadable, func(a, b Unreadable) int { return compareHash(a.Sum, b.Sum) })
	slices.Sort(r.Strays)
	return r, err
}

// Unreferenced returns the objects stored in s that referenced does not
// name, sorted by address: those Verify reports as unreferenced, found
// as it finds them (one Store.Survey, the store's one listing), none
// read; and, from the same listing, the names of the temporary files of
// writes that never finished (last segment TempPrefix). custody erase
// reads the objects for content of what it erases, and removes the
// temporaries (TempRemover): a write a crash cut short may hold it.
func Unreferenced(ctx context.Context, s Store, referenced func(sum hashchain.Hash) bool) (objects []hashchain.Hash, temps []string, err error) {
	stored, strays, err := survey(ctx, s)
	if err != nil {
		return nil, nil, err // the store names the operation ("evidence: walk …: …")
	}
	out := slices.Collect(unreferencedIn(stored, referenced))
	slices.SortFunc(out, compareHash)
	for _, name := range strays {
		if IsTemp(name) {
			temps = append(temps, name)
		}
	}
	return out, temps, nil
}

// IsTemp reports whether a name Store.Survey gave is a temporary file of
// an unfinished write: its last segment starts with TempPrefix.
func IsTemp(name string) bool { return strings.HasPrefix(path.Base(name), TempPrefix) }

// TempRemover is a Store that removes a temporary file of an unfinished
// write by the name Survey gave it (IsTemp). Only a store that writes
// such files has them; custody erase removes them while it holds the
// matter's writer lock, when no write can be in progress.
type TempRemover interface {
	RemoveTemp(ctx context.Context, name string) error
}

// StaleTempRemover is a Store that removes, in one pass, the temporary
// files of unfinished writes last modified before a time, and names them.
// A writer holding the matter's writer lock calls it with the time it
// took the lock, before it writes: no write of the matter can be in
// progress then, so each such file is one a stopped write left.
type StaleTempRemover interface {
	RemoveStaleTemps(ctx context.Context, before time.Time) (removed []string, err error)
}

// survey lists the store (Store.Survey): the objects in it, and the
// names under Dir that are no object (strays).
func survey(ctx context.Context, s Store) (stored []hashchain.Hash, strays []string, err error) {
	err = s.Survey(ctx, func(sum hashchain.Hash) error {
		stored = append(stored, sum)
		return nil
	}, func(name string) error {
		strays = append(strays, name)
		return nil
	})
	return stored, strays, err
}

// unreferencedIn yields the objects of stored that referenced does not
// name.
func unreferencedIn(stored []hashchain.Hash, referenced func(hashchain.Hash) bool) iter.Seq[hashchain.Hash] {
	return func(yield func(hashchain.Hash) bool) {
		for _, sum := range stored {
			if !referenced(sum) && !yield(sum) {
				return
			}
		}
	}
}

// verifyJob is an object for a worker to re-hash: one the caller
// references, or (unreferenced) one only the store's listing names.
type verifyJob struct {
	sum          hashchain.Hash
	unreferenced bool
}

// verifyOne re-hashes the object at j.sum (read whole and handed over when
// opts.Keep asks for a referenced one, else streamed through buf) and
// records the verdict in r. An unreferenced object that is gone since it
// was listed is not reported (nothing references it, nothing is lost).
// An object that cannot be read is recorded as unreadable; it returns an
// error only on cancellation, or when it is the maxUnreadableRun-th in a
// row (*run counts them).
func verifyOne(ctx context.Context, s Store, j verifyJob, buf []byte, opts VerifyOptions, r *Report, mu *sync.Mutex, done, total, run *int) error {
	sum := j.sum
	var missing bool
	var alt *Altered
	var unreadable error
	var got hashchain.Hash
	var err error
	var keep func([]byte, bool)
	if !j.unreferenced {
		keep = keepFor(opts.Keep, sum)
	}
	if keep != nil {
		var data []byte
		data, got, err = readObject(ctx, s, sum)
		intact := err == nil && got == sum
		if !intact {
			data = nil
		}
		keep(data, intact)
	} else {
		got, err = hashObject(ctx, s, sum, buf)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		missing = true
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrCorrupt):
		alt = &Altered{Sum: sum, Detail: err.Error()}
	case err != nil && ctx.Err() != nil:
		return err // cancelled, or another worker stopped the check
	case err != nil:
		unreadable = err // the store names the operation and the object ("evidence: get sha256/…: …")
	case got != sum:
		alt = &Altered{Sum: sum, Actual: got}
	}
	mu.Lock()
	defer mu.Unlock()
	if unreadable != nil {
		r.Unreadable = append(r.Unreadable, Unreadable{Sum: sum, Unreferenced: j.unreferenced, Err: unreadable})
		if *run++; *run >= maxUnreadableRun {
			return &unreadableRunError{n: maxUnreadableRun, last: unreadable}
		}
	} else {
		*run = 0
	}
	if j.unreferenced {
		if !missing && unreadable == nil {
			r.Unreferenced = append(r.Unreferenced, sum)
		}
		if alt != nil {
			r.UnreferencedAltered = append(r.UnreferencedAltered, *alt)
		}
		return nil
	}
	if missing {
		r.Missing = append(r.Missing, sum)
	}
	if alt != nil {
		r.Altered = append(r.Altered, *alt)
	}
	if unreadable == nil {
		r.Checked++
	}
	*done++
	if opts.Progress != nil {
		opts.Progress(*done, *total)
	}
	return nil
}

// unreadableRunError stops Verify: n objects in a row could not be read,
// the last with last.
type unreadableRunError struct {
	n    int
	last error
}

func (e *unreadableRunError) Error() string {
	// The store's error begins "evidence: ", as this one does.
	return fmt.Sprintf("evidence: stopped after %d objects in a row could not be read; the last: %s", e.n, strings.TrimPrefix(e.last.Error(), "evidence: "))
}

func (e *unreadableRunError) Unwrap() error { return e.last }

// hashBufSize is the read size of a streamed hash: large enough that a
// typical evidence object (a bulk response of tens of KiB) is one read.
const hashBufSize = 256 << 10

// Opener is implemented by stores that can stream an object: Verify then
// hashes it through a fixed buffer instead of holding it whole. Open fails
// as Get does (fs.ErrNotExist, ErrTooLarge, ErrCorrupt); the reader fails
// with ErrTooLarge if the object grows past the limit while it is read.
type Opener interface {
	Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error)
}

// keepFor is opts.Keep(sum), or nil without Keep.
func keepFor(keep func(hashchain.Hash) func([]byte, bool), sum hashchain.Hash) func([]byte, bool) {
	if keep == nil {
		return nil
	}
	return keep(sum)
}

// readObject reads the object stored at sum whole and returns it with its
// SHA-256.
func readObject(ctx context.Context, s Store, sum hashchain.Hash) ([]byte, hashchain.Hash, error) {
	var data []byte
	var err error
	if g, ok := s.(GetIntoer); ok {
		// A folder reads into a buffer of the object's size with direct
		// system calls (no *os.File: no poller registration, finalizer
		// or growing buffer), once per object verify --evidence derives
		// from: every opening, body and conversation.
		data, err = g.GetInto(ctx, sum, nil)
	} else {
		data, err = s.Get(ctx, sum)
	}
	if err != nil {
		return nil, hashchain.Hash{}, err
	}
	return data, hashchain.Hash(sha256.Sum256(data)), nil
}

// hashObject returns the SHA-256 of the object stored at sum: streamed
// through buf when s is an Opener, else read whole with Get.
func hashObject(ctx context.Context, s Store, sum hashchain.Hash, buf []byte) (hashchain.Hash, error) {
	o, ok := s.(Opener)
	if !ok {
		data, err := s.Get(ctx, sum)
		if err != nil {
			return hashchain.Hash{}, err
		}
		return hashchain.Hash(sha256.Sum256(data)), nil
	}
	rc, err := o.Open(ctx, sum)
	if err != nil {
		return hashchain.Hash{}, err
	}
	defer rc.Close()
	d := sha256.New()
	if _, err := io.CopyBuffer(d, struct{ io.Reader }{rc}, buf); err != nil {
		return hashchain.Hash{}, fmt.Errorf("evidence: read %s: %w", Key(sum), err)
	}
	var h hashchain.Hash
	d.Sum(h[:0])
	return h, nil
}

func compareHash(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) }
