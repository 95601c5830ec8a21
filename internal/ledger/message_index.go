package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// The message index (schema.sql) finds a message's entries by a 64-bit
// key, the start of SHA-256 of its id, kept in levels: appends add keys to
// level 0 and moves carry them up, in bulk and in key order, so that no
// append rewrites more than a few pages of a large index.

// messageKeyMove is how many entries level 0 (message_keys_recent)
// gathers before an append moves them into level 1. Small enough that a
// batch's random keys dirty few pages of level 0; large enough that moves
// are rare. 16,384 was the fastest of 4,096 – 65,536 in BenchmarkAppend
// (docs/benchmarks.md), and is what schema version 1 used.
const messageKeyMove = 16384

// messageKeyFanout is how many moves into a level it takes before that
// level moves on into the next: level i moves at multiples of
// messageKeyMove × messageKeyFanout^i entries, so each level holds up to
// about four times the one before it, and a key is rewritten once per
// level.
const messageKeyFanout = 4

// messageIndex names the tables of a ledger's message index, level 0
// first, and holds the lookup condition over them.
type messageIndex struct {
	levels []string
	where  string // the condition on entries: key args, then message_id
}

func newMessageIndex(levels ...string) *messageIndex {
	// Every level is searched by its primary key: the key narrows the
	// search to (almost always) the message's own entries, message_id
	// makes it exact.
	sel := make([]string, len(levels))
	for i, t := range levels {
		sel[i] = "SELECT seq FROM " + t + " WHERE key = ?"
	}
	return &messageIndex{
		levels: levels,
		where:  "seq IN (" + strings.Join(sel, " UNION ALL ") + ") AND message_id = ?",
	}
}

var (
	// messageIndexV2 is the index of schema version 2: eight levels.
	messageIndexV2 = newMessageIndex("message_keys_recent", "message_keys_1", "message_keys_2", "message_keys_3",
		"message_keys_4", "message_keys_5", "message_keys_6", "message_keys")

	// messageIndexV1 is the index of schema version 1, which a read-only
	// version 1 ledger (one custody may not migrate) is read through: level
	// 0 and the rest.
	messageIndexV1 = newMessageIndex("message_keys_recent", "message_keys")
)

// args returns the arguments of mi.where for a message id.
func (mi *messageIndex) args(messageID string) []any {
	k := messageKey(messageID)
	args := make([]any, 0, len(mi.levels)+1)
	for range mi.levels {
		args = append(args, k)
	}
	return append(args, messageID)
}

// messageKey is the key of a message id in the message index: the first 8
// bytes of SHA-256(id) as a big-endian signed integer.
func messageKey(id string) int64 {
	h := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// moveMessageKeys carries keys up the levels after an append took the
// ledger from start to end entries: level i moves into level i+1 when the
// append crossed a multiple of keyMove × fanout^i, lower levels first, so
// a move carries along what the one below just brought. Each move inserts
// in key order, so each page of the level above is written once, and
// empties the level it moved.
func (tx *Tx) moveMessageKeys(start, end uint64) error {
	levels := tx.l.keys.levels
	every := tx.l.keyMove
	for i := 0; i+1 < len(levels) && start/every != end/every; i++ {
		// OR FAIL: no statement journal (the keys are new to the level;
		// should anything fail, the append fails and Update rolls back).
		move := fmt.Sprintf(`INSERT OR FAIL INTO %s (key, seq) SELECT key, seq FROM %s ORDER BY key, seq`, levels[i+1], levels[i])
		if _, err := tx.tx.ExecContext(tx.ctx, move); err != nil {
			return fmt.Errorf("ledger: append: move message keys to level %d: %w", i+1, classify(err))
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM `+levels[i]); err != nil {
			return fmt.Errorf("ledger: append: move message keys to level %d: %w", i+1, classify(err))
		}
		every *= tx.l.keyFanout
	}
	return nil
}
