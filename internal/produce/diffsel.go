package produce

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// DiffSelection reads back the recorded diff runID ("latest" for the
// most recent) and returns the selection of `produce --diff`: its run
// id, the conversations it has findings in, and, left out of them, those
// whose every finding is erased. An erased finding is a message custody
// erase deleted, whose content the diff could not compare: nothing of it
// can be produced, and it is no discrepancy, so a conversation with no
// other finding would be produced for nothing but its other messages (or
// for none, when it was erased whole). Produce says how many it skipped.
func DiffSelection(ctx context.Context, l *ledger.Ledger, store evidence.Store, runID string) (Selection, error) {
	run, res, err := reconcile.FindDiff(ctx, l, runID)
	if errors.Is(err, reconcile.ErrNoDiff) {
		// Produce selects by a recorded diff only: a findings file is no
		// way around it here (refetch's is).
		return Selection{}, fmt.Errorf("%w (--diff takes a recorded diff's run id, or latest)", err)
	}
	if err != nil {
		return Selection{}, err
	}
	// Memory grows with the conversations, not the findings: for each,
	// whether it has a finding other than erased.
	other := map[string]bool{}
	if err := reconcile.StreamFindings(ctx, store, run.ID, res, func(f diff.Finding) error {
		if f.ConversationID != "" {
			other[f.ConversationID] = other[f.ConversationID] || f.Kind != finding.Erased
		}
		return nil
	}); err != nil {
		return Selection{}, err
	}
	sel := Selection{DiffRunID: run.ID, DiffConversations: []string{}}
	for id, o := range other {
		if o {
			sel.DiffConversations = append(sel.DiffConversations, id)
		} else {
			sel.DiffSkippedErased = append(sel.DiffSkippedErased, id)
		}
	}
	slices.Sort(sel.DiffConversations)
	slices.Sort(sel.DiffSkippedErased)
	return sel, nil
}
