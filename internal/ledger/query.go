package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// Filter selects entries for Entries. Zero fields match everything.
type Filter struct {
	Kind           string
	ConversationID string
	MessageID      string
	RunID          string
	FromSeq        uint64 // first seq to consider; past the ledger's end (any size) selects nothing
	Limit          int    // at most this many entries; 0 = no limit
}

// Entries streams the entries matching f in sequence order. Iteration
// stops at the first error, which is yielded with a zero Entry. Entries are
// decoded from their stored leaf bytes; a row f's conditions admit by its
// lookup columns whose leaf does not meet them is an ErrInconsistent
// error (columns.go).
func (l *Ledger) Entries(ctx context.Context, f Filter) iter.Seq2[leaf.Entry, error] {
	return queryEntries(ctx, l.rdb, l.keys, f)
}

func queryEntries(ctx context.Context, q querier, mi *messageIndex, f Filter) iter.Seq2[leaf.Entry, error] {
	return func(yield func(leaf.Entry, error) bool) {
		query, args := entriesSQL(f, mi)
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			yield(leaf.Entry{}, fmt.Errorf("ledger: entries: %w", classify(err)))
			return
		}
		defer rows.Close()
		var order ascending
		for rows.Next() {
			e, err := scanEntry(rows, &order)
			if err == nil {
				err = checkFilter(int64(e.Seq), &e, f)
			}
			if err != nil {
				yield(leaf.Entry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(leaf.Entry{}, fmt.Errorf("ledger: entries: %w", classify(err)))
		}
	}
}

// entriesSQL is the query (and its arguments) for Entries with f, on a
// ledger whose message index is mi.
func entriesSQL(f Filter, mi *messageIndex) (string, []any) {
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	add("kind", f.Kind)
	add("conversation_id", f.ConversationID)
	if f.MessageID != "" {
		where = append(where, mi.where)
		args = append(args, mi.args(f.MessageID)...)
	}
	add("run_id", f.RunID)
	switch {
	case f.FromSeq > math.MaxInt64:
		// Beyond any seq SQLite can store (an INTEGER is an int64):
		// nothing, where int64(f.FromSeq) would wrap to a negative seq
		// and select the whole ledger.
		where = append(where, "0")
	case f.FromSeq > 0:
		where = append(where, "seq >= ?")
		args = append(args, int64(f.FromSeq))
	}
	query := `SELECT seq, ` + keptLeafColumn + `, leaf_hash, chain FROM entries`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return query, args
}

// scanEntry reads one (seq, leaf, leaf_hash, chain) row of a query
// ordered by seq, whose rows so far order has seen (nil: a single row).
func scanEntry(rows *sql.Rows, order *ascending) (leaf.Entry, error) {
	var seq int64
	var lb keptLeaf
	var lh, chain sql.RawBytes // copied below
	if err := rows.Scan(&seq, &lb, &lh, &chain); err != nil {
		return leaf.Entry{}, fmt.Errorf("ledger: entries: %w", classify(err))
	}
	if order != nil {
		if err := order.next(seq); err != nil {
			return leaf.Entry{}, fmt.Errorf("ledger: entries: %w", err)
		}
	}
	e, err := leaf.DecodeLeaf(lb)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("ledger: entry seq %d: %w: %w", seq, ErrInconsistent, err)
	}
	if len(lh) != hashchain.HashSize || len(chain) != hashchain.HashSize {
		return leaf.Entry{}, fmt.Errorf("ledger: entry seq %d: %w: stored hash has the wrong length", seq, ErrInconsistent)
	}
	e.Seq = uint64(seq)
	e.LeafHash = hashchain.Hash(lh)
	e.Chain = hashchain.Hash(chain)
	return e, nil
}

// keptLeaf documents how leaves are read: selected as keptLeafColumn into
// an sql.RawBytes, and kept after the row (a decoded entry's Detail is a
// slice of its leaf). For a BLOB, mattn/go-sqlite3 hands database/sql a
// new slice for every row (C.GoBytes) and never writes to it again, and
// a RawBytes destination is that slice itself, where a []byte one would
// be a second copy: 1.2 GB of copies in a diff of a million messages.
// TestLeavesOutliveTheirRows fails if a driver update breaks this.
type keptLeaf = sql.RawBytes

// keptLeafColumn selects the leaf as a BLOB whatever its stored type: a
// file whose STRICT was taken off may hold a leaf as TEXT (or a number),
// which database/sql writes into a buffer of the Rows that the next row
// reuses, and a kept leaf, with every entry decoded from it, would
// change under its reader (TestLeavesOutliveTheirRows/text). Its bytes
// are the same; for a BLOB the cast is no work.
const keptLeafColumn = `CAST(leaf AS BLOB)`

// collect gathers an entry stream into a slice.
func collect(s iter.Seq2[leaf.Entry, error]) ([]leaf.Entry, error) {
	var out []leaf.Entry
	for e, err := range s {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Entry returns the entry at seq, or ErrNotFound.
func (l *Ledger) Entry(ctx context.Context, seq uint64) (leaf.Entry, error) {
	for e, err := range l.Entries(ctx, Filter{FromSeq: seq, Limit: 1}) {
		if err != nil {
			return leaf.Entry{}, err
		}
		if e.Seq == seq {
			return e, nil
		}
	}
	return leaf.Entry{}, fmt.Errorf("ledger: entry seq %d: %w", seq, ErrNotFound)
}

// EntriesAt calls fn with the entries at the given seqs, which must be
// strictly ascending, in that order; a seq past the end is an ErrNotFound error. It
// reads many entries per query: a diff reads back tens of thousands of
// captures the export lacks.
func (l *Ledger) EntriesAt(ctx context.Context, seqs []uint64, fn func(leaf.Entry) error) error {
	return rowsAt(ctx, l.rdb, `seq, `+keptLeafColumn+`, leaf_hash, chain`, seqs, func(rows *sql.Rows) (uint64, leaf.Entry, error) {
		e, err := scanEntry(rows, nil) // rowsAtOnce checks the order
		return e.Seq, e, err
	}, fn)
}

// rawLeaf is one row of LeavesAt.
type rawLeaf struct {
	seq  uint64
	leaf []byte
}

// LeavesAt is EntriesAt for a caller that wants the leaf bytes alone (a
// production's proofs): nothing is decoded, nor copied — leaf is only
// valid until fn returns; copy what you keep.
func (l *Ledger) LeavesAt(ctx context.Context, seqs []uint64, fn func(seq uint64, leaf []byte) error) error {
	return rowsAt(ctx, l.rdb, `seq, leaf`, seqs, func(rows *sql.Rows) (uint64, rawLeaf, error) {
		var seq int64
		var lb sql.RawBytes
		if err := rows.Scan(&seq, &lb); err != nil {
			return 0, rawLeaf{}, fmt.Errorf("ledger: entries: %w", classify(err))
		}
		return uint64(seq), rawLeaf{uint64(seq), lb}, nil
	}, func(r rawLeaf) error { return fn(r.seq, r.leaf) })
}

// rowsAt reads the entries rows at seqs (strictly ascending), columns
// cols, many per query: scan reads a row, fn takes it if it is the seq
// asked for next; a seq not found is ErrNotFound.
func rowsAt[T any](ctx context.Context, db *sql.DB, cols string, seqs []uint64, scan func(*sql.Rows) (uint64, T, error), fn func(T) error) error {
	const per = 256
	args := make([]any, 0, per)
	for len(seqs) > 0 {
		n := min(len(seqs), per)
		args = args[:0]
		for _, s := range seqs[:n] {
			args = append(args, int64(s))
		}
		q := `SELECT ` + cols + ` FROM entries WHERE seq IN (?` + strings.Repeat(",?", n-1) + `) ORDER BY seq`
		i, err := rowsAtOnce(ctx, db, q, args, seqs[:n], scan, fn)
		if err != nil {
			return err
		}
		if i < n {
			return fmt.Errorf("ledger: entry seq %d: %w", seqs[i], ErrNotFound)
		}
		seqs = seqs[n:]
	}
	return nil
}

// rowsAtOnce runs one query of rowsAt and returns how many of seqs it
// found, in order.
func rowsAtOnce[T any](ctx context.Context, db *sql.DB, q string, args []any, seqs []uint64, scan func(*sql.Rows) (uint64, T, error), fn func(T) error) (int, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("ledger: entries: %w", classify(err))
	}
	defer rows.Close()
	i := 0
	var order ascending
	for rows.Next() {
		seq, v, err := scan(rows)
		if err != nil {
			return i, err
		}
		if err := order.next(int64(seq)); err != nil {
			return i, fmt.Errorf("ledger: entries: %w", err)
		}
		if i >= len(seqs) || seq != seqs[i] {
			return i, nil
		}
		if err := fn(v); err != nil {
			return i, err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return i, fmt.Errorf("ledger: entries: %w", classify(err))
	}
	return i, nil
}

const conversationIDsSQL = `SELECT DISTINCT conversation_id FROM entries WHERE conversation_id IS NOT NULL ORDER BY conversation_id`

// ConversationIDs calls fn with every conversation id the entries name,
// each once, in byte order; an error from fn stops it. It reads the
// conversation index alone.
func (l *Ledger) ConversationIDs(ctx context.Context, fn func(id string) error) error {
	rows, err := l.rdb.QueryContext(ctx, conversationIDsSQL)
	if err != nil {
		return fmt.Errorf("ledger: conversation ids: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("ledger: conversation ids: %w", classify(err))
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: conversation ids: %w", classify(err))
	}
	return nil
}

// EntriesByMessage returns every entry about the message id (all its
// captures, oldest first).
func (l *Ledger) EntriesByMessage(ctx context.Context, messageID string) ([]leaf.Entry, error) {
	if messageID == "" {
		return nil, errors.New("ledger: entries by message: empty id")
	}
	return collect(l.Entries(ctx, Filter{MessageID: messageID}))
}

// EntriesByConversation returns every entry about the conversation id, in
// sequence order.
func (l *Ledger) EntriesByConversation(ctx context.Context, conversationID string) ([]leaf.Entry, error) {
	if conversationID == "" {
		return nil, errors.New("ledger: entries by conversation: empty id")
	}
	return collect(l.Entries(ctx, Filter{ConversationID: conversationID}))
}

// LatestCapture returns the most recent message entry for messageID, in
// whichever conversation, and false if the message was never captured.
// An id two conversations list has a latest capture in each, and this is
// only the newer of them: to compare a message with its own latest
// capture, or to supersede it, use LatestCaptures and its Capture (the
// conversation and message id).
func (l *Ledger) LatestCapture(ctx context.Context, messageID string) (leaf.Entry, bool, error) {
	return latestCapture(ctx, l.rdb, l.keys, messageID)
}

// LatestCapture is Ledger.LatestCapture inside the transaction, so the
// check and the append that depends on it see the same ledger.
func (tx *Tx) LatestCapture(messageID string) (leaf.Entry, bool, error) {
	return latestCapture(tx.ctx, tx.tx, tx.l.keys, messageID)
}

// LatestConversation returns the most recent conversation entry for
// conversationID, and false if there is none: LatestCapture's counterpart
// for conversation objects.
func (l *Ledger) LatestConversation(ctx context.Context, conversationID string) (leaf.Entry, bool, error) {
	return latestConversation(ctx, l.rdb, conversationID)
}

// LatestConversation is Ledger.LatestConversation inside the transaction.
func (tx *Tx) LatestConversation(conversationID string) (leaf.Entry, bool, error) {
	return latestConversation(tx.ctx, tx.tx, conversationID)
}

// Conditions of LatestCapture (through the message index, message_index.go)
// and LatestConversation.
const latestConversationWhere = `conversation_id = ? AND message_id IS NULL AND kind = ?`

func latestCaptureWhere(mi *messageIndex) string { return mi.where + ` AND kind = ?` }

func latestCapture(ctx context.Context, q querier, mi *messageIndex, messageID string) (leaf.Entry, bool, error) {
	e, ok, err := latestOf(ctx, q, leaf.KindMessage, messageID, latestCaptureWhere(mi), append(mi.args(messageID), leaf.KindMessage)...)
	if err == nil && ok {
		err = checkFilter(int64(e.Seq), &e, Filter{Kind: leaf.KindMessage, MessageID: messageID})
	}
	if err != nil {
		return leaf.Entry{}, false, err
	}
	return e, ok, nil
}

func latestConversation(ctx context.Context, q querier, conversationID string) (leaf.Entry, bool, error) {
	e, ok, err := latestOf(ctx, q, leaf.KindConversation, conversationID, latestConversationWhere, conversationID, leaf.KindConversation)
	if err == nil && ok {
		err = checkFilter(int64(e.Seq), &e, Filter{Kind: leaf.KindConversation, ConversationID: conversationID})
		if err == nil && e.MessageID != "" {
			err = errColumns(int64(e.Seq), fmt.Sprintf("its message_id column is NULL but its leaf's message_id is %q", e.MessageID))
		}
	}
	if err != nil {
		return leaf.Entry{}, false, err
	}
	return e, ok, nil
}

// latestSQL is the query for the highest-seq entry matching where.
func latestSQL(where string) string {
	return `SELECT seq, ` + keptLeafColumn + `, leaf_hash, chain FROM entries WHERE ` + where + ` ORDER BY seq DESC LIMIT 1`
}

// latestOf returns the highest-seq entry matching where (with args): the
// latest entry of kind about id.
func latestOf(ctx context.Context, q querier, kind, id, where string, args ...any) (leaf.Entry, bool, error) {
	rows, err := q.QueryContext(ctx, latestSQL(where), args...)
	if err != nil {
		return leaf.Entry{}, false, fmt.Errorf("ledger: latest %s %q: %w", kind, id, classify(err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return leaf.Entry{}, false, fmt.Errorf("ledger: latest %s %q: %w", kind, id, classify(err))
		}
		return leaf.Entry{}, false, nil
	}
	e, err := scanEntry(rows, nil)
	if err != nil {
		return leaf.Entry{}, false, err
	}
	return e, true, nil
}

// Controls returns the erasure and hold entries (leaf.KindErasure,
// leaf.KindHold) in seq order: what internal/erasure reads to know what
// is erased and what is held. The kinds are literals so that the partial
// index entries_controls serves the query.
func (l *Ledger) Controls(ctx context.Context) ([]leaf.Entry, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT seq, `+keptLeafColumn+`, leaf_hash, chain FROM entries WHERE kind IN ('erasure', 'hold') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("ledger: controls: %w", classify(err))
	}
	defer rows.Close()
	var out []leaf.Entry
	var order ascending
	for rows.Next() {
		e, err := scanEntry(rows, &order)
		if err != nil {
			return nil, err
		}
		if e.Kind != leaf.KindErasure && e.Kind != leaf.KindHold {
			return nil, errColumns(int64(e.Seq), fmt.Sprintf("its kind column is %q or %q but its leaf's kind is %s", leaf.KindErasure, leaf.KindHold, memberText(e.Kind)))
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: controls: %w", classify(err))
	}
	return out, nil
}
