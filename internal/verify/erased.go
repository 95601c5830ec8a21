package verify

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// The evidence objects erasure entries say were deleted (custody erase)
// are gathered in the one pass (evidenceCheck.erased, an
// erasure.Excuses): an object absent from the store is erased, not
// missing, only when the rule erasure.Excuses holds says so. It lives
// there, not here, because matter set-evidence asks the same question of
// a new store, and must answer it as verify does.

// snapshotEntries is how referencing reads the snapshot's entries again;
// a test makes that read fail.
var snapshotEntries = func(ctx context.Context, snap *ledger.Snapshot) iter.Seq2[ledger.RawEntry, error] {
	return snap.Entries(ctx)
}

// rereadError is the error of reading the ledger again, after the pass,
// to judge absent objects against the erasure entries that list them
// (referencing): not the evidence store's, which the evidence check's
// other errors are, and not a damaged ledger file (a finding). What is
// judged without it stands; the objects it was needed for are given no
// verdict (EvidenceSummary.Unjudged).
type rereadError struct {
	objects int // absent objects whose judgement needed the read
	err     error
}

func (e *rereadError) Error() string {
	return fmt.Sprintf("the ledger could not be read again to judge %d %s absent from the store against the erasure entries listing %s (erased, or missing): %v; %s given no verdict, the rest of the evidence check stands: verify again once the ledger file can be read",
		e.objects, plural(e.objects, "object", "objects"), plural(e.objects, "it", "them"), e.err, plural(e.objects, "it is", "they are"))
}

func (e *rereadError) Unwrap() error { return e.err }

// referencing returns, for each object of want, the entries that
// reference it, in seq order (erasure.References), read from snap. An
// error reading it is a *rereadError.
func referencing(ctx context.Context, snap *ledger.Snapshot, want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
	refs := erasure.NewReferences(want)
	for row, err := range snapshotEntries(ctx, snap) {
		if errors.Is(err, ledger.ErrCorrupt) {
			break // the pass has reported it: what is unread excuses nothing
		}
		if err != nil {
			return nil, &rereadError{objects: len(want), err: err}
		}
		refs.Add(row.Seq, row.Leaf)
	}
	return refs.Refs(), nil
}

// fillErased records in the summary what was erased: the objects excused
// (n), and what the erasure entries a signed checkpoint vouches for name.
func fillErased(s *EvidenceSummary, x *erasure.Excuses, n int, vouched map[uint64]bool) {
	s.Erased = n
	s.ErasureEntries, s.ErasedConversations, s.ErasedMessages = x.Vouched(vouched)
}
