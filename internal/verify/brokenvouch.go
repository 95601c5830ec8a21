package verify

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// brokenVouch sets the cause of the findings of fs (the evidence check's,
// under vouched) that follow from a break: objects counted missing only
// because the checkpoints that vouched for the erasure entry listing
// them failed (broken: each such entry and its first failed checkpoint),
// their roots no longer held after an entry deleted or altered before
// them. Judged again as if those checkpoints held, they are erased; so
// they are counted on the break, not listed before it as failures of
// their own (one break, one finding), and the first finding named is the
// break. They stay in the summary's missing count. The cause named is
// the smallest failed checkpoint: every one of them follows from the
// earliest break before it.
//
// Only when a vouching checkpoint failed and an object is missing: the
// evidence check is asked again (finish only reads what the pass
// gathered), which reads the ledger again when it must judge an erasure.
func brokenVouch(ctx context.Context, ev *evidenceCheck, snap *ledger.Snapshot, vouched map[uint64]bool, broken map[uint64]claim,
	stored []ledger.StoredCheckpoint, sum *EvidenceSummary, fs []Finding) error {
	if len(broken) == 0 || len(sum.MissingObjects) == 0 {
		return nil
	}
	held := maps.Clone(vouched)
	var first claim
	for e, c := range broken {
		held[e] = true
		if first.name == "" || c.size < first.size || (c.size == first.size && c.name < first.name) {
			first = c
		}
	}
	_, again, _, err := ev.finish(ctx, snap, held, stored)
	if again == nil {
		return err
	}
	if r := ev.reread; r != nil {
		// Judged again, some objects were not judged at all: which
		// follow from the break is not known, and none is counted on
		// it. They stay failures of their own; that is said.
		which := "whether the missing object follows"
		if n := len(sum.MissingObjects); n > 1 {
			which = fmt.Sprintf("which of the %d missing objects follow", n)
		}
		return fmt.Errorf("%s: the ledger could not be read again to tell %s from the failure of checkpoint %s (erased, had it held): %w; %s listed as a failure of its own: verify again once the ledger file can be read",
			CheckEvidence, which, first.name, r.err, plural(len(sum.MissingObjects), "it is", "each is"))
	}
	// A check that stopped early is said by the first finish: what it
	// found is judged here as in full.
	still := map[hashchain.Hash]bool{}
	for _, h := range again.MissingObjects {
		still[h] = true
	}
	excused := map[string]bool{} // hex names of the objects erased had the checkpoints held
	for _, h := range sum.MissingObjects {
		if !still[h] {
			excused[h.String()] = true
		}
	}
	const prefix = "evidence " // finish's "evidence <hex> is missing from …"
	for i := range fs {
		f := &fs[i]
		if f.Check != CheckEvidence || f.Warning || f.Seq == nil || !strings.HasPrefix(f.Message, prefix) {
			continue
		}
		hex, rest, ok := strings.Cut(f.Message[len(prefix):], " ")
		if ok && excused[hex] && strings.HasPrefix(rest, "is missing from ") {
			f.cause = first.name
		}
	}
	return nil
}
