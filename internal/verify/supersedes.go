package verify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sort"

	"github.com/custodyhq/custody/internal/leaf"
)

// supersedesCheck holds every entry to the rule custody's append enforces
// (ledger's checkSupersedes): an entry's supersedes names an earlier entry
// of the same kind, conversation and message. Readers pick a message's
// latest capture by it (report, produce, diff), so a rewritten ledger
// whose entry "supersedes" another message's capture would hide that
// message from them; the append refuses such an entry, and verify, the
// auditor's check, refuses it too.
//
// It keeps, per entry read, its seq and 8 bytes of a keyed hash of its
// subject (16 bytes an entry: 16 MB a million), not the strings: the key
// is drawn for each run, so no ledger can be written in advance to make
// two subjects collide. Entries arrive in seq order on one goroutine
// (the strict stage).
type supersedesCheck struct {
	key  [16]byte
	h    hash.Hash
	seqs []uint64 // ascending
	fps  []uint64
	// runs, when set, gathers what the entries say of the runs and the
	// matter's name for runStateWarnings: this check sees every strict
	// entry once, in seq order, with or without evidence.
	runs *RunEntries
	// cols, when set, holds each entry's lookup columns to its leaf
	// (columns.go): this check sees every strict entry, decoded.
	cols *columnsCheck
}

func newSupersedesCheck() *supersedesCheck {
	c := &supersedesCheck{h: sha256.New()}
	rand.Read(c.key[:]) // never fails (crypto/rand)
	return c
}

func (c *supersedesCheck) fingerprint(e *leaf.Entry) uint64 {
	h := c.h
	h.Reset()
	h.Write(c.key[:])
	for _, s := range [...]string{e.Kind, e.ConversationID, e.MessageID} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// see records entry e at seq and returns what is wrong with its
// supersedes (nil when nothing is, or it has none). A superseded seq that
// was not read (deleted, or a leaf that is no entry) is left to the
// sequence and strict checks, which name that entry itself.
func (c *supersedesCheck) see(seq uint64, e *leaf.Entry) error {
	fp := c.fingerprint(e)
	var err error
	if e.Supersedes != nil {
		old := *e.Supersedes
		if old >= seq {
			err = fmt.Errorf("supersedes %d, which is not an earlier entry (custody's append refuses this: the ledger was written by something else)", old)
		} else if i := sort.Search(len(c.seqs), func(i int) bool { return c.seqs[i] >= old }); i < len(c.seqs) && c.seqs[i] == old && c.fps[i] != fp {
			err = fmt.Errorf("supersedes %d, which is not an entry of this %s's kind, conversation and message (custody's append refuses this: the ledger was written by something else; readers taking the latest capture of entry %d's subject would skip it)", old, e.Kind, old)
		}
	}
	if n := len(c.seqs); n == 0 || seq > c.seqs[n-1] {
		c.seqs, c.fps = append(c.seqs, seq), append(c.fps, fp)
	}
	if c.runs != nil {
		c.runs.Add(e)
	}
	if c.cols != nil {
		c.cols.see(seq, e)
	}
	return err
}
