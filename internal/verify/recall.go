package verify

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Recall is a later erasure entry that lists a recorded report or
// production among the outputs to recall (custody erase; its detail's
// outputs): the file's bytes still verify, but it holds, or may hold,
// content erased since, and is not to be relied on as it is.
type Recall struct {
	Erasure uint64 `json:"erasure_seq"`
	At      string `json:"erased_at"` // the erasure entry's time (RFC 3339)
	Reason  string `json:"reason"`
	Why     string `json:"why"` // what of the erasure the output holds, as the entry says
	// Signed: a signed checkpoint covers the erasure entry. One that none
	// covers is what anyone who can write the ledger file can append: it
	// is said, and does not make the output recalled.
	Signed bool `json:"signed"`
}

func (r Recall) String() string {
	s := fmt.Sprintf("erasure entry %d of %s (reason %q) lists it for recall: %s", r.Erasure, r.At, r.Reason, r.Why)
	if !r.Signed {
		s += "; no signed checkpoint covers that erasure entry, so nothing vouches for it"
	}
	return s
}

// recalls returns the erasure entries after the output entry seq, of
// kind (leaf.KindReport or leaf.KindProduction), that list it for
// recall. signed is how many entries a signed checkpoint covers: an
// erasure entry below it is Signed. The erasure entries are read from
// the leaves (byLeaf), not found by the kind column. An erasure entry
// whose detail does not decode lists nothing (verify's strict-leaf check
// reports it).
func recalls(ctx context.Context, l *ledger.Ledger, kind string, seq, signed uint64) ([]Recall, error) {
	var lists []recallList
	err := byLeaf(ctx, l, seq+1, []string{leaf.KindErasure}, func(e *leaf.Entry) {
		lists = addRecallList(lists, e)
	})
	if err != nil {
		return nil, err
	}
	return recallsOf(lists, kind, seq, signed), nil
}

// recallList is what one erasure entry lists for recall (its detail's
// outputs).
type recallList struct {
	seq     uint64
	at      string
	reason  string
	outputs []leaf.ErasedOutput
}

// addRecallList adds erasure entry e's outputs to lists, when it has any.
func addRecallList(lists []recallList, e *leaf.Entry) []recallList {
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return lists
	}
	ed := d.(*leaf.ErasureDetail)
	if len(ed.Outputs) == 0 {
		return lists
	}
	return append(lists, recallList{seq: e.Seq, at: e.At.UTC().Format(time.RFC3339), reason: ed.Reason, outputs: ed.Outputs})
}

// recallsOf returns the recalls that erasure entries after the output
// entry seq, of kind, make of it (recalls).
func recallsOf(lists []recallList, kind string, seq, signed uint64) []Recall {
	var out []Recall
	for _, rl := range lists {
		if rl.seq <= seq {
			continue
		}
		for _, o := range rl.outputs {
			if o.Seq == seq && o.Kind == kind {
				out = append(out, Recall{Erasure: rl.seq, At: rl.at, Reason: rl.reason, Why: o.Why, Signed: rl.seq < signed})
				break
			}
		}
	}
	return out
}

// byLeaf calls fn, in seq order, with each entry from seq from on whose
// leaf is of one of kinds, decoded from the leaf. Not through the kind
// column: no hash covers it, and a row whose column was changed would
// hide an erasure's recall from a lookup by kind (verify --production
// reads no other part of the ledger), or, claiming a kind its leaf is
// not, stop the lookup and the report of the findings that name it. A
// leaf that does not decode is skipped: verify's strict check names it.
// Every row is read, but only leaves that may be of a kind are decoded.
func byLeaf(ctx context.Context, l *ledger.Ledger, from uint64, kinds []string, fn func(e *leaf.Entry)) error {
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer snap.Close()
	quoted := make([][]byte, len(kinds))
	for i, k := range kinds {
		quoted[i] = []byte(`"` + k + `"`)
	}
	for r, err := range snap.Entries(ctx) {
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		// A leaf of the kind holds its name as a JSON string: quoted,
		// or written with an escape.
		if r.Seq < from || (!slices.ContainsFunc(quoted, func(q []byte) bool { return bytes.Contains(r.Leaf, q) }) && bytes.IndexByte(r.Leaf, '\\') < 0) {
			continue
		}
		e, err := leaf.DecodeLeaf(bytes.Clone(r.Leaf)) // r.Leaf is the row's, until the next
		if err != nil || !slices.Contains(kinds, e.Kind) {
			continue
		}
		e.Seq = r.Seq
		fn(&e)
	}
	return nil
}

// signedSize is the size of the latest stored checkpoint whose signature
// verifies with key (0: none), for a check that does not walk the whole
// ledger (verify --production): its root is Ledger's to check.
func signedSize(ctx context.Context, l *ledger.Ledger, key string) (uint64, error) {
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if cp, err := hashchain.VerifyCheckpoint(cps[i].Note, key); err == nil {
			return cp.Size, nil
		}
	}
	return 0, nil
}

// recalled reports whether a signed erasure entry is among rs.
func recalled(rs []Recall) bool {
	for _, r := range rs {
		if r.Signed {
			return true
		}
	}
	return false
}
