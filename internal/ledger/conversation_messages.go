package ledger

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/leaf"
)

// conversationMessagesSQL reads a conversation's message entries through
// the conversation index, seq and leaf only: the leaf hash and chain
// columns cost a diff two copies per row and tell it nothing.
const conversationMessagesSQL = `SELECT seq, ` + keptLeafColumn + ` FROM entries WHERE kind = 'message' AND conversation_id = ? AND seq < ? ORDER BY seq`

// ConversationMessages calls fn with every message entry of the
// conversation below seq before, in seq order: what Entries gives for
// Filter{Kind: leaf.KindMessage, ConversationID: convID} up to before,
// but without the entries' LeafHash and Chain (zero). It is the diff's
// per-conversation read, one query per conversation. An error from fn
// stops it.
func (l *Ledger) ConversationMessages(ctx context.Context, convID string, before uint64, fn func(leaf.Entry) error) error {
	if before > 1<<63-1 {
		before = 1<<63 - 1
	}
	rows, err := l.rdb.QueryContext(ctx, conversationMessagesSQL, convID, int64(before))
	if err != nil {
		return fmt.Errorf("ledger: entries: %w", classify(err))
	}
	defer rows.Close()
	var order ascending
	for rows.Next() {
		var seq int64
		var lb keptLeaf
		if err := rows.Scan(&seq, &lb); err != nil {
			return fmt.Errorf("ledger: entries: %w", classify(err))
		}
		if err := order.next(seq); err != nil {
			return fmt.Errorf("ledger: entries: %w", err)
		}
		e, err := leaf.DecodeLeaf(lb)
		if err != nil {
			return fmt.Errorf("ledger: entry seq %d: %w: %w", seq, ErrInconsistent, err)
		}
		if err := checkFilter(seq, &e, Filter{Kind: leaf.KindMessage, ConversationID: convID}); err != nil {
			return err
		}
		e.Seq = uint64(seq)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: entries: %w", classify(err))
	}
	return nil
}
