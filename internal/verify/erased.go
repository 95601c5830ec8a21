package verify

import (
	"context"
	"errors"
	"fmt"

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

// referencing returns, for each object of want, the entries that
// reference it, in seq order (erasure.References), read from snap.
func referencing(ctx context.Context, snap *ledger.Snapshot, want map[hashchain.Hash]bool) (map[hashchain.Hash][]erasure.Ref, error) {
	refs := erasure.NewReferences(want)
	for row, err := range snap.Entries(ctx) {
		if errors.Is(err, ledger.ErrCorrupt) {
			break // the pass has reported it: what is unread excuses nothing
		}
		if err != nil {
			return nil, fmt.Errorf("evidence: erasures: %w", err)
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
