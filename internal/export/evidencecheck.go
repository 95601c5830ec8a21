package export

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// EvidenceCheck is the ledger.EntryCheck behind `custody verify
// --evidence`: it collects every evidence object the ledger references —
// an entry's evidence_sha256 and those its detail names
// (leaf.Entry.EvidenceRefs: hold, bulk, media, diff findings and files) —
// and at the end re-hashes each in the store. Missing and altered objects are
// failures; objects nothing references (left by a run that crashed
// between storing evidence and committing its entries) are warnings.
type EvidenceCheck struct {
	Store evidence.Store
	// Progress, when set, follows the re-hashing.
	Progress func(done, total int)

	first map[hashchain.Hash]uint64 // first seq referencing each object
	// Report is the store's verification report, set by Finish.
	Report *evidence.Report
}

// Check implements ledger.EntryCheck.
func (c *EvidenceCheck) Check(_ context.Context, e *leaf.Entry) ([]ledger.Finding, error) {
	if c.first == nil {
		c.first = map[hashchain.Hash]uint64{}
	}
	add := func(h hashchain.Hash) {
		if _, ok := c.first[h]; !ok && !h.IsZero() {
			c.first[h] = e.Seq
		}
	}
	refs, err := e.EvidenceRefs()
	if err != nil {
		return nil, fmt.Errorf("export: evidence check: %w", err)
	}
	var findings []ledger.Finding
	for _, r := range refs {
		h, err := hashchain.ParseHash(r.SHA256)
		if err != nil {
			seq := e.Seq
			findings = append(findings, ledger.Finding{Check: ledger.CheckEvidence, Seq: &seq,
				Message: fmt.Sprintf("detail names %s evidence %q, which is not a SHA-256", r.Role, r.SHA256)})
			continue
		}
		add(h)
	}
	return findings, nil
}

// Finish implements ledger.EntryCheck.
func (c *EvidenceCheck) Finish(ctx context.Context) ([]ledger.Finding, error) {
	sums := make([]hashchain.Hash, 0, len(c.first))
	for h := range c.first {
		sums = append(sums, h)
	}
	rep, err := evidence.Verify(ctx, c.Store, evidence.Sums(sums), evidence.VerifyOptions{Progress: c.Progress})
	if err != nil {
		return nil, err
	}
	c.Report = rep
	var out []ledger.Finding
	for _, h := range rep.Missing {
		seq := c.first[h]
		out = append(out, ledger.Finding{Check: ledger.CheckEvidence, Seq: &seq,
			Message: fmt.Sprintf("evidence %s is missing from %s", h, c.Store.URL())})
	}
	for _, a := range rep.Altered {
		seq := c.first[a.Sum]
		msg := fmt.Sprintf("evidence %s was altered: the stored bytes hash to %s", a.Sum, a.Actual)
		if a.Actual.IsZero() {
			msg = fmt.Sprintf("evidence %s could not be re-hashed: %s", a.Sum, a.Detail)
		}
		out = append(out, ledger.Finding{Check: ledger.CheckEvidence, Seq: &seq, Message: msg})
	}
	if n := len(rep.Unreferenced); n > 0 {
		out = append(out, ledger.Finding{Check: ledger.CheckEvidence, Warning: true,
			Message: fmt.Sprintf("%d evidence objects are referenced by no entry (e.g. %s): left by an interrupted run, harmless", n, rep.Unreferenced[0])})
	}
	return out, nil
}
