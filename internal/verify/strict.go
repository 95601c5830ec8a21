package verify

import (
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// strictLeaves runs leaf.CheckLeaf on every leaf beside the main pass, on
// a goroutine of its own: reading a leaf strictly costs about as much as
// hashing it, and the main pass is busy hashing. The main pass copies
// each leaf into a batch (the snapshot's row bytes are only valid until
// the next row) and hands full batches over; finish returns the leaves
// that failed, in seq order.
type strictLeaves struct {
	in   chan *leafBatch
	free chan *leafBatch
	done chan struct{}
	cur  *leafBatch
	bad  []badLeaf
	// each, when set, is called with every leaf instead of
	// leaf.CheckLeaf, in seq order, on the same goroutine, and returns
	// what CheckLeaf returns: it decodes and checks the leaf in one pass
	// (leaf.DecodeChecked) and reads the evidence references there, off
	// the walk's goroutine. The leaf bytes stay valid after the call only
	// with keep.
	each func(seq uint64, leaf []byte) error
	// keep hands each batch's bytes over to each instead of reusing them
	// (a new buffer a batch, not a copy a leaf): the derive stage keeps
	// the entries, which are views of their leaves.
	keep bool
	// sup, when set, holds the entries to the supersedes rule (without
	// each; each does it itself).
	sup *supersedesCheck
	// end, when set, is called once after the last leaf.
	end func()
	// rehash is set when a leaf queued with its stored leaf hash does
	// not hash to it (read after finish).
	rehash bool
}

// leafBatch is a run of leaves: leaf i is buf[ends[i-1]:ends[i]]; when
// check[i], its stored leaf hash, stored[i], is checked here too (the
// walk went on with it).
type leafBatch struct {
	seqs   []uint64
	ends   []int
	buf    []byte
	check  []bool
	stored []hashchain.Hash
}

// check is what run does with a leaf when each is not set: the strict
// check, and the supersedes rule on the entry the same pass decodes.
func (s *strictLeaves) check(seq uint64, lb []byte) error {
	e, strict, err := leaf.DecodeChecked(lb)
	if !strict {
		return leaf.CheckLeaf(lb) // the finding's reason
	}
	if err == nil && s.sup != nil {
		e.Seq = seq // the decoder leaves it 0; the run_state gathering keeps it
		return s.sup.see(seq, &e)
	}
	return nil
}

// badLeaf is a leaf CheckLeaf refused.
type badLeaf struct {
	seq uint64
	err error
}

const (
	strictBatch   = 512 // leaves per batch
	strictBatches = 4   // batches in flight
)

func newStrictLeaves(each func(seq uint64, leaf []byte) error, end func(), keep bool, sup *supersedesCheck) *strictLeaves {
	s := &strictLeaves{in: make(chan *leafBatch, strictBatches), free: make(chan *leafBatch, strictBatches+1), done: make(chan struct{}),
		each: each, end: end, keep: keep, sup: sup}
	for range strictBatches + 1 {
		s.free <- &leafBatch{buf: make([]byte, 0, 64<<10)}
	}
	s.cur = <-s.free
	go s.run()
	return s
}

func (s *strictLeaves) run() {
	defer close(s.done)
	if s.end != nil {
		defer s.end()
	}
	for b := range s.in {
		start := 0
		for i, end := range b.ends {
			lb := b.buf[start:end:end]
			if b.check[i] && hashchain.LeafHash(lb) != b.stored[i] {
				s.rehash = true
			}
			var err error
			if s.each != nil {
				err = s.each(b.seqs[i], lb)
			} else {
				err = s.check(b.seqs[i], lb)
			}
			if err != nil {
				s.bad = append(s.bad, badLeaf{seq: b.seqs[i], err: err})
			}
			start = end
		}
		if s.keep {
			b.buf = make([]byte, 0, cap(b.buf))
		}
		b.seqs, b.ends, b.buf, b.check, b.stored = b.seqs[:0], b.ends[:0], b.buf[:0], b.check[:0], b.stored[:0]
		s.free <- b
	}
}

// add queues the leaf of entry seq (copied); with check, its leaf hash
// is checked against stored.
func (s *strictLeaves) add(seq uint64, leafBytes []byte, check bool, stored hashchain.Hash) {
	b := s.cur
	b.buf = append(b.buf, leafBytes...)
	b.ends = append(b.ends, len(b.buf))
	b.seqs = append(b.seqs, seq)
	b.check = append(b.check, check)
	b.stored = append(b.stored, stored)
	if len(b.seqs) == strictBatch {
		s.in <- b
		s.cur = <-s.free
	}
}

// finish checks what is queued, stops the goroutine and returns the
// leaves that failed. It may be called more than once (the later calls
// return nil).
func (s *strictLeaves) finish() []badLeaf {
	if s.cur == nil {
		return nil
	}
	if len(s.cur.seqs) > 0 {
		s.in <- s.cur
	}
	s.cur = nil
	close(s.in)
	<-s.done
	return s.bad
}
