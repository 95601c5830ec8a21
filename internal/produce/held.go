package produce

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"sync/atomic"
)

// maxHeld bounds the bytes of attachments a worker holds in memory for
// one conversation: the attachments themselves, the rsmf.zip holding
// them and its base64 in the .rsmf file being written. Each attachment
// may be as large as the evidence store allows (256 MiB) and a
// conversation may have any number, so holding them whole would let one
// conversation, times the workers (up to maxWorkers), exhaust memory.
// Past the bound an attachment, or the zip, goes to a temporary file in
// the production's partial folder (spill), and the .rsmf file is written
// in pieces; the production's bytes are the same either way.
const maxHeld = 8 << 20

// heldLimit is maxHeld; tests lower it.
var heldLimit int64 = maxHeld

// peakHeld is the most a conversation held of what heldLimit bounds
// (noteHeld), for the tests.
var peakHeld atomic.Int64

func noteHeld(n int64) {
	for {
		p := peakHeld.Load()
		if n <= p || peakHeld.CompareAndSwap(p, n) {
			return
		}
	}
}

// copyBufSize is the buffer a spilled file is copied through.
const copyBufSize = 256 << 10

// spill keeps bytes that are not held in memory in a temporary file in
// the production's partial folder. The file is removed at once where the
// system allows an open file to be (nothing is then left behind, nor can
// anyone open it by name), else when it is closed. What is written is
// hashed, after seed, so that reading it back checks it is still what was
// written: a spilled attachment is produced as checked against its
// evidence, or not at all.
type spill struct {
	f    *os.File
	name string // "" once removed
	seed string
	h    hash.Hash
	n    int64
	sum  [sha256.Size]byte // of seed and the bytes, once finished
}

func newSpill(dir, seed string) (*spill, error) {
	f, err := os.CreateTemp(dir, ".spill-")
	if err != nil {
		return nil, err
	}
	s := &spill{f: f, name: f.Name(), seed: seed, h: sha256.New()}
	if os.Remove(s.name) == nil {
		s.name = ""
	}
	io.WriteString(s.h, seed)
	return s, nil
}

func (s *spill) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// finish ends the writing: sum is then set.
func (s *spill) finish() {
	s.h.Sum(s.sum[:0])
	s.h = nil
}

// reader reads the bytes back, failing at their end if they are not
// what was written.
func (s *spill) reader() io.Reader {
	h := sha256.New()
	io.WriteString(h, s.seed)
	return &checkedReader{r: io.NewSectionReader(s.f, 0, s.n), h: h, want: s.sum}
}

func (s *spill) close() {
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
}

var errSpillChanged = errors.New("a temporary file in the production's folder changed while it was used")

type checkedReader struct {
	r    io.Reader
	h    hash.Hash
	want [sha256.Size]byte
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF {
		var got [sha256.Size]byte
		if c.h.Sum(got[:0]); got != c.want {
			return n, errSpillChanged
		}
	}
	return n, err
}

// zipSink receives an rsmf.zip as it is built: in memory (mem) while the
// conversation holds no more than heldLimit with it (max is what is left
// of it), else in a spill seeded with the transcript, whose sum is then
// the hash the .rsmf file's MIME boundary is made of (rsmfBoundary).
type zipSink struct {
	mem  []byte
	held int64 // by the conversation besides
	max  int64
	dir  string
	seed string
	sp   *spill
}

func (z *zipSink) Write(p []byte) (int, error) {
	if z.sp == nil {
		if need := int64(len(z.mem) + len(p)); need <= z.max {
			if need > int64(cap(z.mem)) {
				// Grown by hand: append could take more than max.
				m := make([]byte, len(z.mem), min(max(need, 2*int64(cap(z.mem)), 4096), z.max))
				copy(m, z.mem)
				z.mem = m
			}
			z.mem = append(z.mem, p...)
			noteHeld(z.held + need)
			return len(p), nil
		}
		sp, err := newSpill(z.dir, z.seed)
		if err != nil {
			return 0, err
		}
		z.sp = sp
		if _, err := sp.Write(z.mem); err != nil {
			return 0, err
		}
		z.mem = z.mem[:0]
	}
	return z.sp.Write(p)
}

func (z *zipSink) size() int64 {
	if z.sp != nil {
		return z.sp.n
	}
	return int64(len(z.mem))
}

func (z *zipSink) reader() io.Reader {
	if z.sp != nil {
		return z.sp.reader()
	}
	return bytes.NewReader(z.mem)
}

func (z *zipSink) close() {
	if z.sp != nil {
		z.sp.close()
		z.sp = nil
	}
}
