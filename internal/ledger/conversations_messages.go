package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// MaxConversationsBatch is how many conversations ConversationsMessages
// reads in one query at most (one SQL parameter each, far below SQLite's
// limit).
const MaxConversationsBatch = 64

// conversationsMessagesSQL is conversationMessagesSQL for n conversations:
// the conversation index read once per id, in (conversation_id, seq) order.
func conversationsMessagesSQL(n int) string {
	return `SELECT conversation_id, seq, ` + keptLeafColumn + ` FROM entries WHERE kind = 'message' AND conversation_id IN (?` +
		strings.Repeat(", ?", n-1) + `) AND seq < ? ORDER BY conversation_id, seq`
}

// ConversationsMessages is ConversationMessages for several conversations
// in one query: fn is called with every message entry of each of convIDs
// below seq before, with the conversation id of the entry's row — the
// entries of one conversation together and in seq order, the
// conversations in byte order of their ids, each once however often it is
// named. For each conversation it gives exactly what ConversationMessages
// gives (TestConversationsMessages). The diff reads the captures of a few
// export files' conversations at once: a query costs about as much as
// reading a small conversation's rows. At most MaxConversationsBatch ids;
// an error from fn stops it.
func (l *Ledger) ConversationsMessages(ctx context.Context, convIDs []string, before uint64, fn func(conv string, e leaf.Entry) error) error {
	if len(convIDs) == 0 {
		return nil
	}
	if len(convIDs) > MaxConversationsBatch {
		return fmt.Errorf("ledger: entries: %d conversations in one query, at most %d", len(convIDs), MaxConversationsBatch)
	}
	if before > 1<<63-1 {
		before = 1<<63 - 1
	}
	args := make([]any, 0, len(convIDs)+1)
	for _, c := range convIDs {
		args = append(args, c)
	}
	args = append(args, int64(before))
	rows, err := l.rdb.QueryContext(ctx, conversationsMessagesSQL(len(convIDs)), args...)
	if err != nil {
		return fmt.Errorf("ledger: entries: %w", classify(err))
	}
	defer rows.Close()
	var conv string
	var convRaw sql.RawBytes // valid until the next row: compared, copied only when it changes
	for rows.Next() {
		var seq int64
		var lb keptLeaf // the entry's detail is a slice of it
		if err := rows.Scan(&convRaw, &seq, &lb); err != nil {
			return fmt.Errorf("ledger: entries: %w", classify(err))
		}
		if conv == "" || !bytes.Equal(convRaw, []byte(conv)) {
			conv = string(convRaw) // one string per conversation, not per row
		}
		e, err := leaf.DecodeLeaf(lb)
		if err != nil {
			return fmt.Errorf("ledger: entry seq %d: %w: %w", seq, ErrInconsistent, err)
		}
		if err := checkFilter(seq, &e, Filter{Kind: leaf.KindMessage, ConversationID: conv}); err != nil {
			return err
		}
		e.Seq = uint64(seq)
		if err := fn(conv, e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: entries: %w", classify(err))
	}
	return nil
}
