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
// capture per message, this matter's only, the v3 opening of every
// capture that stands read and checked — and noted loaded and checked
// the same way; fn has it once all of it is read (TestConversationsBatch).
// The openings of the whole batch are read after the query, together
// (LedgerIndex.openAll: several at a time from a remote store), then
// the messages' evidence for their attachments and template header media
// (readMessageMedia), likewise. An error
// (a wrong opening, say) stops it: the conversations fn had are
// complete, the one that failed and those after it are not loaded.
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
	type conversation struct {
		id         string
		st         standing
		superseded []uint64
	}
	var convs []*conversation
	var cur *conversation
	err := x.L.ConversationsMessages(ctx, ids, x.size, func(c string, e leaf.Entry) error {
		if cur == nil || c != cur.id {
			cur = &conversation{id: c}
			convs = append(convs, cur)
		}
		// As load and conversation do, in seq order.
		if e.Supersedes != nil {
			cur.superseded = append(cur.superseded, *e.Supersedes)
		}
		if x.Matter != "" && e.Matter != x.Matter {
			return nil
		}
		cp, p, err := x.reduce(e)
		if err != nil {
			return err
		}
		cur.st.keep(e.MessageID, cp, p)
		return nil
	})
	if err != nil {
		return err
	}
	sts := make([]*standing, len(convs))
	for i, c := range convs {
		sts[i] = &c.st
	}
	failed, openErr := x.openAll(ctx, sts)
	if err := x.readMessageMedia(ctx, sts[:failed]); err != nil {
		return err
	}
	given := make(map[string]bool, len(ids))
	finish := func(conv string, out []diff.Captured, superseded []uint64) {
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
	for _, c := range convs[:failed] {
		finish(c.id, c.st.out, c.superseded)
	}
	if openErr != nil {
		return openErr
	}
	// A conversation without message entries: Conversation gives nil and
	// notes it loaded.
	for _, c := range ids {
		if !given[c] {
			finish(c, nil, nil)
		}
	}
	return nil
}
