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
	// each, when set, is also called with every leaf after its check, in
	// seq order, on the same goroutine (the leaf bytes are only valid
	// during the call): the evidence references are read there, off the
	// walk's goroutine.
	each func(seq uint64, leaf []byte)
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

// badLeaf is a leaf CheckLeaf refused.
type badLeaf struct {
	seq uint64
	err error
}

const (
	strictBatch   = 512 // leaves per batch
	strictBatches = 4   // batches in flight
)

func newStrictLeaves(each func(seq uint64, leaf []byte), end func()) *strictLeaves {
	s := &strictLeaves{in: make(chan *leafBatch, strictBatches), free: make(chan *leafBatch, strictBatches+1), done: make(chan struct{}),
		each: each, end: end}
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
			if err := leaf.CheckLeaf(b.buf[start:end]); err != nil {
				s.bad = append(s.bad, badLeaf{seq: b.seqs[i], err: err})
			}
			if b.check[i] && hashchain.LeafHash(b.buf[start:end]) != b.stored[i] {
				s.rehash = true
			}
			if s.each != nil {
				s.each(b.seqs[i], b.buf[start:end])
			}
			start = end
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
