package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// latestCapturesChunk bounds the message ids of one query: each costs one
// key argument per index level and its id (SQLite allows 32,766).
const latestCapturesChunk = 256

// Capture names what a message entry is a capture of: a message of a
// conversation. Its entries' supersedes chain is theirs alone (append
// refuses one that supersedes a capture of another conversation): the
// same message id in two conversations is two subjects.
type Capture struct{ ConversationID, MessageID string }

// LatestCaptures answers, for several message ids in one query per 256
// ids (an export asks for a conversation's messages together, where one
// query each cost a round trip through the driver apiece), the most
// recent message entry of each conversation and message id ever
// captured, by Capture: an id captured in two conversations has an
// answer for each; ids never captured have none. A row the lookup
// columns give as a capture of an id whose leaf is not one is an
// ErrInconsistent error (columns.go).
func (l *Ledger) LatestCaptures(ctx context.Context, messageIDs []string) (map[Capture]leaf.Entry, error) {
	return latestCaptures(ctx, l.rdb, l.keys, messageIDs)
}

// LatestCaptures is Ledger.LatestCaptures inside the transaction, so the
// check and the append that depends on it see the same ledger.
func (tx *Tx) LatestCaptures(messageIDs []string) (map[Capture]leaf.Entry, error) {
	return latestCaptures(tx.ctx, tx.tx, tx.l.keys, messageIDs)
}

func latestCaptures(ctx context.Context, q querier, mi *messageIndex, ids []string) (map[Capture]leaf.Entry, error) {
	out := make(map[Capture]leaf.Entry, len(ids))
	for start := 0; start < len(ids); start += latestCapturesChunk {
		chunk := ids[start:min(start+latestCapturesChunk, len(ids))]
		if err := latestCapturesOf(ctx, q, mi, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// latestCapturesOf is LatestCapture's query (message_index.go) with IN
// lists: every entry of the ids, newest first, and the first of each
// conversation and id decoded.
func latestCapturesOf(ctx context.Context, q querier, mi *messageIndex, ids []string, out map[Capture]leaf.Entry) error {
	if len(ids) == 0 {
		return nil
	}
	// The lists are padded (with the last id again) to a power of two,
	// so that a handful of query texts serve every conversation and the
	// driver's statement cache keeps them prepared: preparing this query
	// costs more than running it.
	n := 1
	for n < len(ids) {
		n *= 2
	}
	for len(ids) < n {
		ids = append(ids[:len(ids):len(ids)], ids[len(ids)-1])
	}
	marks := "?" + strings.Repeat(",?", len(ids)-1)
	sel := make([]string, len(mi.levels))
	for i, t := range mi.levels {
		sel[i] = "SELECT seq FROM " + t + " WHERE key IN (" + marks + ")"
	}
	query := `SELECT seq, leaf, leaf_hash, chain, conversation_id, message_id FROM entries WHERE seq IN (` + strings.Join(sel, " UNION ALL ") +
		`) AND message_id IN (` + marks + `) AND kind = ? ORDER BY seq DESC`
	args := make([]any, 0, (len(mi.levels)+1)*len(ids)+1)
	keys := make([]any, len(ids))
	for i, id := range ids {
		keys[i] = messageKey(id)
	}
	for range mi.levels {
		args = append(args, keys...)
	}
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, leaf.KindMessage)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("ledger: latest captures of %d messages: %w", len(ids), classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var lb, lh, chain []byte
		var conv sql.NullString
		var id string
		if err := rows.Scan(&seq, &lb, &lh, &chain, &conv, &id); err != nil {
			return fmt.Errorf("ledger: latest captures: %w", classify(err))
		}
		// Every row is decoded, an older capture's too: the columns chose
		// it, and only its leaf says whether they may be trusted.
		e, err := leaf.DecodeLeaf(lb)
		if err != nil {
			return fmt.Errorf("ledger: entry seq %d: %w: %w", seq, ErrInconsistent, err)
		}
		cols := Columns{{String: leaf.KindMessage, Valid: true}, conv, {String: id, Valid: true}}
		if err := checkColumns(seq, &e, &cols, 3); err != nil {
			return err
		}
		key := Capture{ConversationID: e.ConversationID, MessageID: e.MessageID}
		if _, ok := out[key]; ok {
			continue // an older capture of a message already read
		}
		if len(lh) != hashchain.HashSize || len(chain) != hashchain.HashSize {
			return fmt.Errorf("ledger: entry seq %d: %w: stored hash has the wrong length", seq, ErrInconsistent)
		}
		e.Seq, e.LeafHash, e.Chain = uint64(seq), hashchain.Hash(lh), hashchain.Hash(chain)
		out[key] = e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: latest captures: %w", classify(err))
	}
	return nil
}
