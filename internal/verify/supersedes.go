package verify

import (
	"fmt"
	"sort"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
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
// (the strict stage); their fingerprints may be computed on any.
type supersedesCheck struct {
	key  ledger.LookupKey
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
	return &supersedesCheck{key: ledger.NewLookupKey()}
}

// fingerprint is e's subject's keyed fingerprint; safe on any goroutine.
func (c *supersedesCheck) fingerprint(e *leaf.Entry) uint64 {
	return ledger.SubjectFingerprint(c.key, e)
}

// see records entry e at seq and returns what is wrong with its
// supersedes (nil when nothing is, or it has none). A superseded seq that
// was not read (deleted, or a leaf that is no entry) is left to the
// sequence and strict checks, which name that entry itself.
func (c *supersedesCheck) see(seq uint64, e *leaf.Entry) error {
	if c.cols != nil {
		c.cols.see(seq, e)
	}
	return c.seeFingerprinted(seq, e, c.fingerprint(e))
}

// seeFingerprinted is see for a caller that computed e's fingerprint, fp,
// and gave the columns check its part of e itself (strictLeaves' workers).
func (c *supersedesCheck) seeFingerprinted(seq uint64, e *leaf.Entry, fp uint64) error {
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
	return err
}
