package reconcile

import (
	"context"
	"strings"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/leaf"
)

var _ diff.BatchIndex = (*LedgerIndex)(nil)

// ConversationsBatch implements diff.BatchIndex: Conversation for each of
// convIDs, through one ledger query (ledger.ConversationsMessages). Each
// conversation is reduced exactly as Conversation reduces it — latest
// capture per message, this matter's only, every v3 opening read and
// checked — and noted loaded and checked the same way; fn has it once
// its last row is read (TestConversationsBatch). An error (a wrong
// opening, say) stops it: the conversations fn had are complete, the
// one that failed and those after it are not loaded.
func (x *LedgerIndex) ConversationsBatch(ctx context.Context, convIDs []string, fn func(conv string, all []diff.Captured)) error {
	ids := make([]string, 0, len(convIDs))
	for _, c := range convIDs {
		if c != "" { // Conversation("") is nothing; the query would match ""
			ids = append(ids, c)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := x.snapshot(ctx); err != nil {
		return err
	}
	var (
		conv       string
		started    bool
		latest     map[string]int // message id → index in out
		out        []diff.Captured
		superseded []uint64
	)
	given := make(map[string]bool, len(ids))
	finish := func() {
		x.mu.Lock()
		for _, seq := range superseded {
			x.superseded[seq] = struct{}{}
		}
		x.loaded[strings.Clone(conv)] = struct{}{}
		x.mu.Unlock()
		x.noteChecked(out)
		given[conv] = true
		fn(conv, out)
	}
	err := x.L.ConversationsMessages(ctx, ids, x.size, func(c string, e leaf.Entry) error {
		if !started || c != conv {
			if started {
				finish()
			}
			started, conv, latest, out, superseded = true, c, map[string]int{}, nil, nil
		}
		// As load and conversation do, in seq order.
		if e.Supersedes != nil {
			superseded = append(superseded, *e.Supersedes)
		}
		if x.Matter != "" && e.Matter != x.Matter {
			return nil
		}
		cp, err := x.captured(ctx, e)
		if err != nil {
			return err
		}
		out = keepLatest(latest, out, e.MessageID, cp)
		return nil
	})
	if err != nil {
		return err
	}
	if started {
		finish()
	}
	// A conversation without message entries: Conversation gives nil and
	// notes it loaded.
	for _, c := range ids {
		if !given[c] {
			conv, out, superseded = c, nil, nil
			finish()
		}
	}
	return nil
}
