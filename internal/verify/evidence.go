package verify

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// evidenceCheck collects every evidence object the ledger references, in
// the one pass over the entries, and at the end re-hashes each in the
// store. Missing and altered objects are failures; objects nothing
// references (left by a run that crashed between storing evidence and
// committing its entries) are a warning.
type evidenceCheck struct {
	store  evidence.Store
	first  map[hashchain.Hash]uint64 // first seq referencing each object
	erased erasedObjects             // deleted by custody erase (erased.go)
}

// entry records the evidence references of e: its evidence_sha256 and
// those its typed detail lists (leaf.EvidenceRefs). A reference that is not
// SHA-256 hex is a finding; a detail that is not JSON at all is the strict
// check's finding.
func (c *evidenceCheck) entry(e *leaf.Entry) []Finding {
	c.erased.add(e)
	named, err := e.EvidenceRefs()
	if err != nil {
		return nil
	}
	seq := e.Seq
	var out []Finding
	for _, r := range named {
		h, err := hashchain.ParseHash(r.SHA256)
		if err != nil {
			out = append(out, Finding{Check: CheckEvidence, Seq: &seq, pos: 2 * int64(seq),
				Message: fmt.Sprintf("detail names evidence %q, which is not a SHA-256", r.SHA256)})
			continue
		}
		if _, ok := c.first[h]; !ok && !h.IsZero() {
			c.first[h] = seq
		}
	}
	return out
}

// finish re-hashes every referenced object in the store.
func (c *evidenceCheck) finish(ctx context.Context, progress func(done, total int)) ([]Finding, *EvidenceSummary, error) {
	sums := make([]hashchain.Hash, 0, len(c.first))
	for h := range c.first {
		sums = append(sums, h)
	}
	rep, err := evidence.Verify(ctx, c.store, evidence.Sums(sums), evidence.VerifyOptions{Progress: progress})
	if err != nil {
		return nil, nil, err // evidence.Verify names itself ("evidence: verify: …")
	}
	missing, erased := c.erased.split(rep.Missing)
	rep.Missing = missing
	sum := &EvidenceSummary{Store: c.store.URL(), Referenced: rep.Referenced, Missing: len(rep.Missing),
		Altered: len(rep.Altered), Unreferenced: len(rep.Unreferenced)}
	c.erased.fill(sum, erased)
	var out []Finding
	at := func(h hashchain.Hash) (*uint64, int64) {
		seq := c.first[h]
		return &seq, 2 * int64(seq)
	}
	for _, h := range rep.Missing {
		seq, pos := at(h)
		out = append(out, Finding{Check: CheckEvidence, Seq: seq, pos: pos,
			Message: fmt.Sprintf("evidence %s is missing from %s", h, c.store.URL())})
	}
	for _, a := range rep.Altered {
		seq, pos := at(a.Sum)
		msg := fmt.Sprintf("evidence %s was altered: the stored bytes hash to %s", a.Sum, a.Actual)
		if a.Actual.IsZero() {
			msg = fmt.Sprintf("evidence %s could not be re-hashed: %s", a.Sum, a.Detail)
		}
		out = append(out, Finding{Check: CheckEvidence, Seq: seq, pos: pos, Message: msg})
	}
	if n := len(rep.Unreferenced); n > 0 {
		out = append(out, Finding{Check: CheckEvidence, Warning: true,
			Message: fmt.Sprintf("%d evidence objects are referenced by no entry (e.g. %s): left by an interrupted run, harmless", n, rep.Unreferenced[0])})
	}
	return out, sum, nil
}
