package verify

import (
	"context"
	"iter"

	"github.com/custodyhq/custody/internal/ledger"
)

// FailLedgerReread makes the reading of the ledger again, after the
// pass, to judge absent objects against erasures (referencing) fail with
// err after the first entry, as a ledger file that stops reading would;
// the returned function restores it.
func FailLedgerReread(err error) (restore func()) {
	old := snapshotEntries
	snapshotEntries = func(ctx context.Context, snap *ledger.Snapshot) iter.Seq2[ledger.RawEntry, error] {
		return func(yield func(ledger.RawEntry, error) bool) {
			for row, rerr := range old(ctx, snap) {
				if rerr != nil {
					yield(row, rerr)
					return
				}
				if !yield(row, nil) {
					return
				}
				yield(ledger.RawEntry{}, err)
				return
			}
		}
	}
	return func() { snapshotEntries = old }
}

// SetDeriveUnavailable sets how many unavailable objects the derive
// stage remembers (deriveUnavailable); the returned function restores it.
func SetDeriveUnavailable(n int) (restore func()) {
	old := deriveUnavailable
	deriveUnavailable = n
	return func() { deriveUnavailable = old }
}
