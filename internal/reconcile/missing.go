package reconcile

import (
	"context"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/leaf"
)

var _ diff.MissingIndex = (*LedgerIndex)(nil)

// noteChecked remembers the captures Conversation returned: each was
// reduced by captured, so a v3 capture's opening was read and checked
// against its commitments.
func (x *LedgerIndex) noteChecked(cs []diff.Captured) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range cs {
		seq := cs[i].Seq
		w := int(seq / 64)
		if w >= len(x.checked) {
			x.checked = append(x.checked, make([]uint64, w+1-len(x.checked))...)
		}
		x.checked[w] |= 1 << (seq % 64)
	}
}

func (x *LedgerIndex) wasChecked(seq uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	w := int(seq / 64)
	return w < len(x.checked) && x.checked[w]&(1<<(seq%64)) != 0
}

// Missing implements diff.MissingIndex: the captures of seqs with their
// ids, Timestamp (and legal hold and audit references) from the entry;
// a capture Conversation returned is not opened again — its opening was
// read and checked then, and a missing_from_export finding names none of
// its opened fields. Any other is reduced as Captures does, opening and
// all.
func (x *LedgerIndex) Missing(ctx context.Context, seqs []uint64, fn func(diff.Captured) error) error {
	return x.captures(ctx, seqs, x.wasChecked, fn)
}

var _ diff.BriefIndex = (*LedgerIndex)(nil)

// ConversationBrief implements diff.BriefIndex: Conversation's captures
// with what their entries alone give (ids, Timestamp, Seq, legal hold and
// audit references), no opening read. The diff asks it only about
// conversations the export lacks, whose findings name nothing more.
func (x *LedgerIndex) ConversationBrief(ctx context.Context, convID string) ([]diff.Captured, error) {
	if convID == "" {
		return nil, nil // a filter on "" would match every entry
	}
	if err := x.snapshot(ctx); err != nil {
		return nil, err
	}
	return x.conversation(ctx, convID, func(e leaf.Entry) (diff.Captured, pending, error) {
		return captureBase(&e), pending{}, nil
	})
}
