package verify

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// With evidence, Ledger runs as a pipeline on every core:
//
//	walk (rows, leaf hashes, chain, roots)
//	  → leaf stage (strict check, leaf decoded, evidence references)
//	  → derive stage (fields re-derived, in ledger order)
//
// and evidence.Verify's workers read and hash each referenced object as
// the leaf stage names it. An object the derive stage will parse is read
// whole by the worker that hashes it, and handed over (decoded, for a
// messages or hold body) through prefetch: each object is read and hashed
// once, and bodies are decoded on the workers, ahead of the stage that
// compares. Every queue between the stages is bounded.

// bodyKind says how the derive stage reads an evidence object.
type bodyKind int

const (
	rawBody          bodyKind = iota // read as bytes (conversation objects, audit pages, openings)
	messagesBody                     // a messages response: decodeMessages
	holdBody                         // a deletion-protection response: decodeHold
	conversationBody                 // a conversation object: decodeConversation
	listingBody                      // a listing page: decodeListing
)

func (k bodyKind) decode(b []byte, workers int) (any, error) {
	switch k {
	case messagesBody:
		return decodeMessages(b, workers)
	case holdBody:
		return decodeHold(b)
	case conversationBody:
		return decodeConversation(b)
	case listingBody:
		return decodeListing(b), nil
	}
	return nil, nil
}

// deriveKind returns how the derive stage reads the object an entry of
// kind references as role, and whether it reads it at all (media bytes,
// for one, are only hashed).
func deriveKind(kind, role string) (bodyKind, bool) {
	switch kind {
	case leaf.KindMessage:
		switch role {
		case leaf.RoleResponse:
			return messagesBody, true
		case leaf.RoleOpening:
			return rawBody, true
		}
	case leaf.KindConversation:
		switch role {
		case leaf.RoleBulk:
			return messagesBody, true
		case leaf.RoleHold:
			return holdBody, true
		case leaf.RoleResponse:
			return conversationBody, true
		case leaf.RoleAudit:
			return rawBody, true
		}
	case leaf.KindAudit:
		if role == leaf.RoleResponse {
			return rawBody, true
		}
	case leaf.KindListing:
		if role == leaf.RoleResponse {
			return listingBody, true
		}
	}
	return rawBody, false
}

// prefetchWindow is how many entries a prefetched object waits for the
// derive stage to take it. The leaf stage runs at most a few thousand
// entries ahead (the queues' bounds), so an object still held this far
// behind is one no entry took (the derive stage reads it from the store
// again if it ever wants it): dropping it keeps memory flat.
const prefetchWindow = 1 << 14

// prefetch holds the objects the hashing workers read for the derive
// stage until it takes them.
type prefetch struct {
	mu      sync.Mutex
	pending map[hashchain.Hash]*fetched
	order   []registered // FIFO of registrations, for the window, from head on
	head    int
	evDone  <-chan struct{}
	// stoppedEarly, once evDone is closed, says whether the evidence
	// check stopped before reading every object (a store it could not
	// read, 64 objects in a row; or a cancellation): the derive stage
	// then asks the store for nothing more (deriveCheck.read). Nil: never.
	stoppedEarly func() bool
}

type registered struct {
	seq uint64
	sum hashchain.Hash
}

// fetched is one object read (and maybe decoded) by a hashing worker.
// Its fields are set before done is closed.
type fetched struct {
	kind   bodyKind
	done   chan struct{}
	data   []byte // nil unless intact
	intact bool
	val    any // kind's decoded form, when intact and kind is not rawBody
	err    error
}

func newPrefetch(evDone <-chan struct{}) *prefetch {
	return &prefetch{pending: map[hashchain.Hash]*fetched{}, evDone: evDone}
}

// register asks for sum, first referenced by entry seq, to be kept for the
// derive stage. It must come before the sum is handed to the hashing.
func (p *prefetch) register(seq uint64, sum hashchain.Hash, kind bodyKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pending[sum]; ok {
		return
	}
	p.pending[sum] = &fetched{kind: kind, done: make(chan struct{})}
	p.order = append(p.order, registered{seq: seq, sum: sum})
}

// keep is evidence.VerifyOptions.Keep: the worker hashing a registered
// object decodes it and hands it over.
func (p *prefetch) keep(sum hashchain.Hash) func([]byte, bool) {
	p.mu.Lock()
	f := p.pending[sum]
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	return func(data []byte, intact bool) {
		f.data, f.intact = data, intact
		if intact && f.kind != rawBody {
			f.val, f.err = f.kind.decode(data, 1)
		}
		close(f.done)
	}
}

// take returns the prefetched object sum, waiting for its worker, and
// forgets it; nil when it was not prefetched (or no longer is, or the
// hashing stopped before reaching it): the caller reads the store.
func (p *prefetch) take(sum hashchain.Hash) *fetched {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	f := p.pending[sum]
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	// It stays registered until its worker is done: the worker finds it
	// there. (forget runs on this goroutine: not meanwhile.)
	defer func() {
		p.mu.Lock()
		delete(p.pending, sum)
		p.mu.Unlock()
	}()
	select {
	case <-f.done:
		return f
	case <-p.evDone:
		select {
		case <-f.done:
			return f
		default:
			return nil // the hashing stopped early
		}
	}
}

// stopped reports whether the evidence check has ended early
// (stoppedEarly): an object it did not hand over is then not available,
// and is not asked of the store again.
func (p *prefetch) stopped() bool {
	if p == nil || p.stoppedEarly == nil {
		return false
	}
	select {
	case <-p.evDone:
		return p.stoppedEarly()
	default:
		return false
	}
}

// forget drops what entries more than prefetchWindow before seq
// registered and no one took.
func (p *prefetch) forget(seq uint64) {
	if p == nil || seq < prefetchWindow {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.head < len(p.order) && p.order[p.head].seq < seq-prefetchWindow {
		delete(p.pending, p.order[p.head].sum)
		p.head++
	}
	// Compact once the dropped half outweighs the rest (amortised O(1)).
	if p.head > 1024 && p.head*2 > len(p.order) {
		p.order = append(p.order[:0], p.order[p.head:]...)
		p.head = 0
	}
}

// decodedEntry is an entry with its detail decoded (nil: it did not
// decode, or is empty).
type decodedEntry struct {
	e *leaf.Entry
	d leaf.Detail
}

// deriveStage runs the derive check on its own goroutine, over the
// entries the leaf stage decoded, in ledger order.
type deriveStage struct {
	in      chan decodedEntry
	done    chan struct{}
	fs      []Finding
	abandon atomic.Bool // Ledger returns early: drain without deriving
}

const deriveQueue = 512 // entries between the leaf stage and the derive stage (see strictBatches)

func newDeriveStage(ctx context.Context, dv *deriveCheck) *deriveStage {
	d := &deriveStage{in: make(chan decodedEntry, deriveQueue), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		// Messages' pure parts run in batches on every processor; each
		// entry's findings keep their place (slots, in ledger order).
		var slots [][]Finding
		var rests []func()
		flush := func() {
			runParallel(rests)
			for _, fs := range slots {
				d.fs = append(d.fs, fs...)
			}
			slots, rests = slots[:0], rests[:0]
		}
		for de := range d.in {
			if d.abandon.Load() {
				continue
			}
			fs, rest := dv.entry(ctx, de.e, de.d)
			dv.pre.forget(de.e.Seq)
			if rest == nil {
				if len(fs) > 0 {
					slots = append(slots, fs)
				}
				continue
			}
			i := len(slots)
			slots = append(slots, nil)
			rests = append(rests, func() { slots[i] = rest() })
			if len(rests) == deriveBatch {
				flush()
			}
		}
		flush()
	}()
	return d
}

// deriveBatch is how many messages' pure parts run together.
const deriveBatch = 256

// runParallel runs fs on up to GOMAXPROCS goroutines and waits.
func runParallel(fs []func()) {
	_ = eachAtOnce(context.Background(), len(fs), runtime.GOMAXPROCS(0), func(i int) { fs[i]() })
}

// eachAtOnce calls fn(0) … fn(n-1), workers at a time (on the calling
// goroutine when that is one), and waits; it stops early, with ctx's
// error, when ctx ends.
func eachAtOnce(ctx context.Context, n, workers int, fn func(i int)) error {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			fn(i)
		}
		return ctx.Err()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// leafStage is what the leaf stage does with each leaf, with evidence:
// decode it, record its evidence references (queued for hashing at once)
// and pass it on to the derive stage.
type leafStage struct {
	ev     *evidenceCheck
	derive *deriveStage
	fs     []Finding // evidence findings, in seq order
	sup    *supersedesCheck
}

func (s *leafStage) each(seq uint64, leafBytes []byte) error {
	// One pass decodes the leaf and checks it strictly, the detail decoded
	// by the check given back. The entry's (and detail's) strings are
	// views of leafBytes, which the derive stage keeps (strictLeaves.each).
	e, d, strict, err := leaf.DecodeCheckedDetail(leafBytes)
	var bad error
	if !strict {
		bad = leaf.CheckLeaf(leafBytes) // the finding's reason (rare)
	}
	if err != nil {
		return bad // not an entry: the strict check's finding
	}
	e.Seq = seq
	if bad == nil && s.sup != nil {
		bad = s.sup.see(seq, &e)
	}
	if s.ev != nil {
		s.fs = append(s.fs, s.ev.entry(&e, d)...)
	}
	if s.derive != nil {
		s.derive.in <- decodedEntry{e: &e, d: d}
	}
	return bad
}

func (s *leafStage) end() {
	if s.derive != nil {
		close(s.derive.in)
	}
}

// mergeFindings returns the evidence and derive findings of the entries in
// seq order, an entry's evidence findings before its derived ones (the
// order one pass would have found them in: the cap on findings keeps the
// first).
func mergeFindings(ev, dv []Finding) []Finding {
	out := make([]Finding, 0, len(ev)+len(dv))
	for len(ev) > 0 && len(dv) > 0 {
		if *dv[0].Seq < *ev[0].Seq {
			out, dv = append(out, dv[0]), dv[1:]
		} else {
			out, ev = append(out, ev[0]), ev[1:]
		}
	}
	return append(append(out, ev...), dv...)
}

// decodeWorkers is how many goroutines decode one body's messages when the
// derive stage decodes it itself (not prefetched).
func decodeWorkers() int { return runtime.GOMAXPROCS(0) }
