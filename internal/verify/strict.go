package verify

import (
	"runtime"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// strictLeaves runs leaf.CheckLeaf on every leaf beside the main pass:
// reading a leaf strictly costs about as much as hashing it, and the main
// pass is busy hashing. The main pass adds each leaf to a batch (the
// snapshot's leaf itself, a new slice every row: ledger.RawEntry) and
// hands full batches over; finish returns the leaves that failed, in seq
// order.
//
// Without each, the work a leaf needs alone (its hash, the strict decode,
// its fingerprints) is spread over every core, a batch to a worker, and
// one goroutine takes the batches in seq order for what needs the order
// (the supersedes rule, the run tables): on a ledger-only verify that
// work outweighed the walk, which then waited for it.
type strictLeaves struct {
	in   chan *leafBatch // to the ordered goroutine, in seq order
	work chan *leafBatch // to the workers (without each)
	free chan *leafBatch
	done chan struct{}
	cur  *leafBatch
	bad  []badLeaf
	// each, when set, is called with every leaf instead of
	// leaf.CheckLeaf, in seq order, on the same goroutine, and returns
	// what CheckLeaf returns: it decodes and checks the leaf in one pass
	// (leaf.DecodeChecked) and reads the evidence references there, off
	// the walk's goroutine. The leaf is each's to keep (the derive stage
	// keeps the entries, which are views of their leaves).
	each func(seq uint64, leaf []byte) error
	// sup, when set, holds the entries to the supersedes rule (without
	// each; each does it itself).
	sup *supersedesCheck
	// end, when set, is called once after the last leaf.
	end func()
	// rehash is set when a leaf queued with its stored leaf hash does
	// not hash to it (read after finish).
	rehash bool
}

// leafBatch is a run of leaves; when check[i], the stored leaf hash of
// leaves[i], stored[i], is checked here too (the walk went on with it).
type leafBatch struct {
	seqs   []uint64
	leaves [][]byte
	check  []bool
	stored []hashchain.Hash

	// A worker's results (without each), for the ordered goroutine once
	// ready is closed.
	ready  chan struct{}
	res    []leafResult
	rehash bool
	cols   columnsPart
}

// leafResult is what a worker found of one leaf.
type leafResult struct {
	e   leaf.Entry // a view of the batch's bytes; when ok
	ok  bool       // strict, and decoded: the ordered goroutine sees e
	err error      // why it is not strict
	fp  uint64     // e's subject's supersedes fingerprint, when ok
}

// badLeaf is a leaf CheckLeaf refused.
type badLeaf struct {
	seq uint64
	err error
}

// Leaves queued between the walk and the strict stage. With evidence
// (each), a leaf is a slice of the driver's that lives until its entry is
// through the derive stage, and half the queues of before (2 batches
// here instead of 4, deriveQueue 512 entries instead of 1,024) kept
// verify --evidence as busy, with 1,800 fewer page faults a run and 2 %
// less CPU on the small matter, and no more time on the large one
// (docs/benchmarks.md, twenty-ninth stop). The ledger alone keeps 4
// beside one a worker: 2 was no faster there (1 – 2 % slower in three
// rounds, within this machine's noise).
const (
	strictBatch     = 512 // leaves per batch
	strictBatches   = 4   // batches in flight beside one a worker, without evidence
	pipelineBatches = 2   // batches in flight with evidence (each)
)

func newStrictLeaves(each func(seq uint64, leaf []byte) error, end func(), sup *supersedesCheck) *strictLeaves {
	workers, inFlight := 0, pipelineBatches
	if each == nil {
		workers = max(1, runtime.GOMAXPROCS(0))
		inFlight = strictBatches + workers
	}
	s := &strictLeaves{in: make(chan *leafBatch, inFlight), free: make(chan *leafBatch, inFlight+1), done: make(chan struct{}),
		each: each, end: end, sup: sup}
	for range inFlight + 1 {
		s.free <- &leafBatch{ready: make(chan struct{})}
	}
	s.cur = <-s.free
	if workers > 0 {
		s.work = make(chan *leafBatch, inFlight)
		for range workers {
			go s.worker()
		}
	}
	go s.run()
	return s
}

// worker does, batch by batch, what each leaf needs alone.
func (s *strictLeaves) worker() {
	for b := range s.work {
		for i, lb := range b.leaves {
			if b.check[i] && hashchain.LeafHash(lb) != b.stored[i] {
				b.rehash = true
			}
			e, strict, err := leaf.DecodeChecked(lb)
			r := leafResult{}
			switch {
			case !strict:
				r.err = leaf.CheckLeaf(lb) // the finding's reason
			case err == nil:
				e.Seq = b.seqs[i] // the decoder leaves it 0; the run_state gathering keeps it
				r.e, r.ok = e, true
				if s.sup != nil {
					r.fp = s.sup.fingerprint(&e)
					if s.sup.cols != nil {
						b.cols.add(s.sup.cols, b.seqs[i], &e)
					}
				}
			}
			b.res = append(b.res, r)
		}
		close(b.ready)
	}
}

// run takes the batches in seq order: with each, it does all of a
// leaf's work; without, it waits for the batch's worker and does what
// needs the order.
func (s *strictLeaves) run() {
	defer close(s.done)
	if s.end != nil {
		defer s.end()
	}
	for b := range s.in {
		if s.each != nil {
			for i, lb := range b.leaves {
				if b.check[i] && hashchain.LeafHash(lb) != b.stored[i] {
					s.rehash = true
				}
				if err := s.each(b.seqs[i], lb); err != nil {
					s.bad = append(s.bad, badLeaf{seq: b.seqs[i], err: err})
				}
			}
		} else {
			<-b.ready
			s.rehash = s.rehash || b.rehash
			for i := range b.res {
				r := &b.res[i]
				err := r.err
				if r.ok && s.sup != nil {
					err = s.sup.seeFingerprinted(b.seqs[i], &r.e, r.fp)
				}
				if err != nil {
					s.bad = append(s.bad, badLeaf{seq: b.seqs[i], err: err})
				}
			}
			if s.sup != nil && s.sup.cols != nil {
				s.sup.cols.merge(&b.cols)
			}
			clear(b.res) // the entries are views of the leaves
			b.res, b.rehash, b.cols, b.ready = b.res[:0], false, columnsPart{}, make(chan struct{})
		}
		clear(b.leaves) // not kept alive by the batch
		b.seqs, b.leaves, b.check, b.stored = b.seqs[:0], b.leaves[:0], b.check[:0], b.stored[:0]
		s.free <- b
	}
}

// add queues the leaf of entry seq, which it keeps (not a copy: the
// caller does not write to it again); with check, its leaf hash is
// checked against stored.
func (s *strictLeaves) add(seq uint64, leafBytes []byte, check bool, stored hashchain.Hash) {
	b := s.cur
	b.leaves = append(b.leaves, leafBytes)
	b.seqs = append(b.seqs, seq)
	b.check = append(b.check, check)
	b.stored = append(b.stored, stored)
	if len(b.seqs) == strictBatch {
		s.send(b)
		s.cur = <-s.free
	}
}

// send hands batch b over: to a worker (without each), and in order to
// the ordered goroutine.
func (s *strictLeaves) send(b *leafBatch) {
	s.in <- b
	if s.work != nil {
		s.work <- b
	}
}

// finish checks what is queued, stops the goroutines and returns the
// leaves that failed. It may be called more than once (the later calls
// return nil).
func (s *strictLeaves) finish() []badLeaf {
	if s.cur == nil {
		return nil
	}
	if len(s.cur.seqs) > 0 {
		s.send(s.cur)
	}
	s.cur = nil
	close(s.in)
	if s.work != nil {
		close(s.work)
	}
	<-s.done
	return s.bad
}
