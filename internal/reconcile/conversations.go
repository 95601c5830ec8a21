package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/ledger"
)

// DiffConversations reads back a recorded diff ("latest" for the most
// recent) and returns its run id and the ids of the conversations it has
// findings in, sorted — what `custody produce --diff` produces.
func DiffConversations(ctx context.Context, l *ledger.Ledger, store evidence.Store, runID string) (string, []string, error) {
	// keep records each id and keeps no finding: memory grows with the
	// conversations, not the findings.
	set := map[string]bool{}
	id, _, err := loadFindings(ctx, l, store, runID, func(f diff.Finding) bool {
		if f.ConversationID != "" {
			set[f.ConversationID] = true
		}
		return false
	})
	if errors.Is(err, ErrNoDiff) {
		// Produce selects by a recorded diff only: a findings file is no
		// way around it here (refetch's is).
		return "", nil, fmt.Errorf("%w (--diff takes a recorded diff's run id, or latest)", err)
	}
	if err != nil {
		return "", nil, err
	}
	ids := make([]string, 0, len(set))
	for c := range set {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	return id, ids, nil
}
