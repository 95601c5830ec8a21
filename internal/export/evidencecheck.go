package export

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// EvidenceCheck is the ledger.EntryCheck behind `custody verify
// --evidence`: it collects every evidence object the ledger references —
// an entry's evidence_sha256, and in its detail every member whose name
// ends in "evidence_sha256" (hold, bulk, media, diff findings) — and at the
// end re-hashes each in the store. Missing and altered objects are
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
	add(e.EvidenceSHA256)
	var findings []ledger.Finding
	if len(e.Detail) > 0 {
		var v any
		if err := json.Unmarshal(e.Detail, &v); err != nil {
			return nil, fmt.Errorf("export: evidence check: entry %d detail: %w", e.Seq, err)
		}
		for _, s := range evidenceRefs(v, "") {
			h, err := hashchain.ParseHash(s)
			if err != nil {
				seq := e.Seq
				findings = append(findings, ledger.Finding{Check: ledger.CheckEvidence, Seq: &seq,
					Message: fmt.Sprintf("detail names evidence %q, which is not a SHA-256", s)})
				continue
			}
			add(h)
		}
	}
	return findings, nil
}

// evidenceRefs returns the strings held under keys ending in
// "evidence_sha256", at any depth.
func evidenceRefs(v any, key string) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			out = append(out, evidenceRefs(x, k)...)
		}
	case []any:
		for _, x := range t {
			out = append(out, evidenceRefs(x, key)...)
		}
	case string:
		if strings.HasSuffix(key, "evidence_sha256") {
			out = append(out, t)
		}
	}
	return out
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
