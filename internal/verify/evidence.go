package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// evidenceCheck collects every evidence object the ledger references, in
// the one pass over the entries, and hands each to evidence.Verify as soon
// as it is first seen, so the objects are re-hashed on every core while the
// walk goes on; finish waits for the last and walks the store. Missing and
// altered objects are failures, and so are unreferenced objects that do
// not hash to their address; objects nothing references that do (left by
// a run that crashed between storing evidence and committing its
// entries) are a warning, and so is whatever else the store holds that is
// not custody's (sidefiles.go).
type evidenceCheck struct {
	store  evidence.Store
	first  map[hashchain.Hash]uint64 // first seq referencing each object
	sums   chan hashchain.Hash       // to evidence.Verify; closed by stop
	done   chan struct{}             // closed when evidence.Verify returned
	rep    *evidence.Report
	err    error
	abort  context.CancelFunc // stops the hashing early (Ledger returning an error)
	erased erasure.Excuses    // deleted by custody erase (erased.go)
	// pre, when the derive check runs, is where objects it will parse
	// are handed over by the worker that hashes them (pipeline.go).
	pre *prefetch
	// side is what the store holds beside its objects, read before the
	// pass (sidefiles.go); runEnds are the seqs of the entries that end
	// an export or refetch run, after which the run signs a checkpoint
	// and writes its copy beside the evidence.
	side    *sideFiles
	runEnds map[uint64]bool
	// reread is the error of the last finish reading the ledger again
	// to judge absent objects against erasures, nil when it could or
	// need not (brokenVouch asks).
	reread *rereadError
}

func newEvidenceCheck(ctx context.Context, store evidence.Store, side *sideFiles, progress func(done, total int), derive bool) *evidenceCheck {
	ctx, cancel := context.WithCancel(ctx)
	c := &evidenceCheck{store: store, first: map[hashchain.Hash]uint64{},
		sums: make(chan hashchain.Hash, 1024), done: make(chan struct{}), abort: cancel,
		side: side, runEnds: map[uint64]bool{}}
	// c.first holds each referenced sum once (add), and is complete when
	// the references end: evidence.Verify asks it rather than keep a
	// second set of the same sums.
	vo := evidence.VerifyOptions{Progress: progress, Distinct: func(h hashchain.Hash) bool { _, ok := c.first[h]; return ok }}
	if derive {
		c.pre = newPrefetch(c.done)
		// Read once c.done is closed, after c.err was set.
		c.pre.stoppedEarly = func() bool { return c.err != nil }
		vo.Keep = c.pre.keep
	}
	sums := c.sums // the field is the walk's: stop clears it
	// The references end on cancellation too, not only when the walk
	// closes sums: a cancelled walk stops sending and waits for the
	// derive stage, which may wait for an object a worker dropped on
	// seeing the cancellation (its Keep never called), until
	// evidence.Verify returns. Waiting for sums alone, Verify never did: a
	// report given Ctrl-C hung holding the matter's lock.
	refs := func(yield func(hashchain.Hash, error) bool) {
		for {
			select {
			case h, ok := <-sums:
				if !ok || !yield(h, nil) {
					return
				}
			case <-ctx.Done():
				yield(hashchain.Hash{}, ctx.Err())
				return
			}
		}
	}
	go func() {
		defer close(c.done)
		c.rep, c.err = evidence.Verify(ctx, store, refs, vo)
	}()
	return c
}

// entry records the evidence references of e: its evidence_sha256 and
// those its typed detail lists (leaf.EvidenceRefs). A reference that is not
// SHA-256 hex is a finding; a detail that is not JSON at all is the strict
// check's finding. d is e's detail, decoded (leaf.DecodeCheckedDetail),
// nil when it does not decode.
func (c *evidenceCheck) entry(e *leaf.Entry, d leaf.Detail) []Finding {
	c.erased.Add(e)
	seq := e.Seq
	if rd, ok := d.(*leaf.RunDetail); ok && rd.Event == leaf.RunEnd {
		c.runEnds[seq] = true
	}
	// e.EvidenceRefs, from the decoded detail: evidence_sha256 first,
	// already a hash (not spelt out in hex to be parsed back).
	var named []leaf.EvidenceRef
	if d != nil {
		c.add(e.EvidenceSHA256, seq, e.Kind, leaf.RoleResponse) // (the zero hash: none)
		named = d.EvidenceRefs()
	} else {
		var err error
		if named, err = e.EvidenceRefs(); err != nil {
			return nil
		}
	}
	var out []Finding
	for _, r := range named {
		h, err := hashchain.ParseHash(r.SHA256)
		if err != nil {
			out = append(out, Finding{Check: CheckEvidence, Seq: &seq, pos: 2 * int64(seq),
				Message: fmt.Sprintf("detail names evidence %q, which is not a SHA-256", r.SHA256)})
			continue
		}
		c.add(h, seq, e.Kind, r.Role)
	}
	return out
}

// add records that seq, an entry of kind, references h as role, and
// queues h to be hashed the first time (to be kept for the derive check
// if it parses it).
func (c *evidenceCheck) add(h hashchain.Hash, seq uint64, kind, role string) {
	if _, ok := c.first[h]; ok || h.IsZero() {
		return
	}
	c.first[h] = seq
	if c.pre != nil {
		if bk, parsed := deriveKind(kind, role); parsed {
			c.pre.register(seq, h, bk)
		}
	}
	select {
	case c.sums <- h:
	case <-c.done: // evidence.Verify stopped early; finish reports why
	}
}

// close cancels what is left of the hashing and waits for it: Ledger
// defers it, so that no worker outlives a return. After finish it does
// nothing.
func (c *evidenceCheck) close() {
	c.abort()
	c.stop()
}

// stop ends the references and waits for evidence.Verify to finish
// hashing them; a second call does nothing.
func (c *evidenceCheck) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	if c.sums != nil {
		close(c.sums)
		c.sums = nil
	}
	<-c.done
}

// maxUnreadableNamed is how many unreadable objects finish names one by
// one; the JSON's unreadable_objects lists them all.
const maxUnreadableNamed = 5

// finish waits for every referenced object to be re-hashed and reports:
// the findings, the summary, and the objects the store could not read
// (unchecked). vouched holds the erasure entries a signed checkpoint
// verify validated vouches for: only those excuse an absent object
// (erased.go), which snap, the pass's snapshot, is read again to judge.
// stored are the ledger's checkpoints, whose copies beside the evidence
// are looked for. When the check stopped early (the store could not be
// listed, or read at all), the error comes with what it found until
// then: failures found are failures still, whoever made the rest
// unreadable (review-commits5 L1).
func (c *evidenceCheck) finish(ctx context.Context, snap *ledger.Snapshot, vouched map[uint64]bool, stored []ledger.StoredCheckpoint) (_ []Finding, _ *EvidenceSummary, unchecked []Unchecked, stopped error) {
	c.stop()
	rep, stopped := c.rep, c.err
	if rep == nil {
		return nil, nil, nil, stopped // cancelled; evidence.Verify names itself ("evidence: verify: …")
	}
	missing, erased, err := c.erased.Split(rep.Missing, vouched, func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
		return referencing(ctx, snap, want)
	})
	var unjudged []hashchain.Hash
	var reread *rereadError
	switch {
	case errors.As(err, &reread) && ctx.Err() == nil:
		// The ledger, not the store, could not be read again: what
		// needs no reading is judged, the rest is given no verdict,
		// and what the check found stands. Said as the evidence
		// check's part not made, naming the ledger: returned as the
		// check's own error, it was said as the store's ("evidence:
		// not checked: erasures: …") and dropped every finding.
		missing, unjudged = c.erased.WithoutEntries(rep.Missing, vouched)
		erased = 0
		unchecked = append(unchecked, Unchecked{Check: CheckEvidence, Error: reread.Error()})
	case err != nil:
		return nil, nil, nil, err
	}
	c.reread = reread
	sum := &EvidenceSummary{Store: c.store.URL(), Referenced: rep.Referenced, Missing: len(missing),
		Altered: len(rep.Altered), Unreferenced: len(rep.Unreferenced),
		UnreferencedAltered: len(rep.UnreferencedAltered), CheckpointCopies: len(c.side.copies), AlteredObjects: rep.Altered,
		Unreadable: len(rep.Unreadable), Unjudged: len(unjudged), Stopped: stopped != nil}
	if stopped != nil {
		// Every reference is known (the walk is over), not every one
		// was handed to the store before it stopped.
		sum.Referenced = len(c.first)
	}
	sum.NotChecked = sum.Referenced - rep.Checked + len(unjudged)
	for _, m := range missing {
		sum.MissingObjects = append(sum.MissingObjects, m.Sum)
	}
	for i, u := range rep.Unreadable {
		sum.UnreadableObjects = append(sum.UnreadableObjects, u.Sum)
		switch {
		case i < maxUnreadableNamed:
			// The store's error names the object and begins "evidence: ",
			// which Check says.
			unchecked = append(unchecked, Unchecked{Check: CheckEvidence, Error: strings.TrimPrefix(u.Err.Error(), CheckEvidence+": ")})
		case i == maxUnreadableNamed:
			n := len(rep.Unreadable) - maxUnreadableNamed
			unchecked = append(unchecked, Unchecked{Check: CheckEvidence, Error: fmt.Sprintf("%d more %s could not be read (--output json lists them all: evidence.unreadable_objects)", n, plural(n, "object", "objects"))})
		}
	}
	for _, n := range rep.Strays {
		if isTemp(n) {
			sum.Temporary = append(sum.Temporary, n)
		} else {
			sum.Foreign = append(sum.Foreign, n)
		}
	}
	sum.Temporary = mergeSorted(sum.Temporary, c.side.temp)
	sum.Foreign = mergeSorted(sum.Foreign, c.side.foreign)
	fillErased(sum, &c.erased, erased, vouched)
	var out []Finding
	at := func(h hashchain.Hash) (*uint64, int64) {
		seq := c.first[h]
		return &seq, 2 * int64(seq)
	}
	for _, m := range missing {
		seq, pos := at(m.Sum)
		msg := fmt.Sprintf("evidence %s is missing from %s", m.Sum, c.store.URL())
		if m.Why != "" {
			msg += ": " + m.Why
		}
		out = append(out, Finding{Check: CheckEvidence, Seq: seq, pos: pos, Message: msg})
	}
	for _, a := range rep.Altered {
		seq, pos := at(a.Sum)
		msg := fmt.Sprintf("evidence %s was altered: the stored bytes hash to %s", a.Sum, a.Actual)
		if a.Actual.IsZero() {
			msg = fmt.Sprintf("evidence %s could not be re-hashed: %s", a.Sum, a.Detail)
		}
		out = append(out, Finding{Check: CheckEvidence, Seq: seq, pos: pos, Message: msg})
	}
	for _, a := range rep.UnreferencedAltered {
		msg := fmt.Sprintf("the bytes stored hash to %s", a.Actual)
		if a.Actual.IsZero() {
			msg = fmt.Sprintf("it could not be re-hashed: %s", a.Detail)
		}
		out = append(out, Finding{Check: CheckEvidence, pos: posStore, Message: fmt.Sprintf(
			"evidence object %s is referenced by no entry, and %s, not to its name: no interrupted run leaves that (custody names an object only once its bytes are durable under a temporary name); the store was damaged, or written by something other than custody", a.Sum, msg)})
	}
	if n := len(rep.Unreferenced) - len(rep.UnreferencedAltered); n > 0 {
		var eg hashchain.Hash
		for _, h := range rep.Unreferenced {
			if !slices.ContainsFunc(rep.UnreferencedAltered, func(a evidence.Altered) bool { return a.Sum == h }) {
				eg = h
				break
			}
		}
		out = append(out, Finding{Check: CheckEvidence, Warning: true,
			Message: fmt.Sprintf("%d evidence %s referenced by no entry (e.g. %s), each re-hashed to its name: bodies stored by a run that stopped before committing the entries naming them, or a message's new response that differed only in its media urls' signatures; harmless", n, plural(n, "object is", "objects are"), eg)})
	}
	out = append(out, storeWarnings(c.side, rep.Strays)...)
	out = append(out, missingCopies(c.side, stored, c.runEnds)...)
	return out, sum, unchecked, stopped
}
