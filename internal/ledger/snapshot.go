package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// Snapshot is a consistent, read-only view of the ledger: one read
// transaction, so a concurrent export may keep appending while a verifier
// reads. It hands out the stored rows as they are, unchecked: judging them
// is internal/verify's work, not the store's.
type Snapshot struct {
	tx   *sql.Tx
	keys *messageIndex
}

// RawEntry is one stored entries row as it is on disk. Leaf is the
// caller's to keep (a new slice every row: keptLeaf); LeafHash and Chain
// are only valid until the iteration moves on, copy what you keep. They
// are the stored columns, of any length.
type RawEntry struct {
	Seq      uint64
	Leaf     []byte
	LeafHash []byte
	Chain    []byte
	// Columns are the row's lookup columns, read by EntriesWithColumns
	// alone (all NULL otherwise).
	Columns Columns
	// ColumnsFP is their fingerprint, read by EntriesFingerprinted alone.
	ColumnsFP uint64
	// Types is "" when leaf, leaf_hash and chain are stored as BLOBs, as
	// custody writes them; else their storage classes, such as "text blob
	// blob": a file whose STRICT was taken off may hold a TEXT of the same
	// bytes, which Leaf, LeafHash and Chain give as they are. (A NULL one
	// is a damaged row: the iteration stops with ErrCorrupt.)
	Types string
}

// hashedTypes selects, for Types, the storage classes of the hashed
// columns when one is not a BLOB (NULL otherwise, which costs the walk
// nothing).
const hashedTypes = `CASE WHEN typeof(leaf) = 'blob' AND typeof(leaf_hash) = 'blob' AND typeof(chain) = 'blob' THEN NULL ` +
	`ELSE typeof(leaf) || ' ' || typeof(leaf_hash) || ' ' || typeof(chain) END`

// What entries reads of each row beside seq, leaf, leaf_hash and chain.
const (
	entriesOnly          = iota
	entriesWithColumns   // the lookup columns
	entriesFingerprinted // their fingerprint
)

// Snapshot opens a read-only snapshot. Close it when done.
func (l *Ledger) Snapshot(ctx context.Context) (*Snapshot, error) {
	tx, err := l.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("ledger: snapshot: %w", classify(err))
	}
	return &Snapshot{tx: tx, keys: l.keys}, nil
}

// Close ends the snapshot's read transaction.
func (s *Snapshot) Close() error { return s.tx.Rollback() }

// State is Ledger.State as of the snapshot.
func (s *Snapshot) State(ctx context.Context, key string) (string, bool, error) {
	return getState(ctx, s.tx, key)
}

// EntriesOfKind yields the stored entries of one kind in seq order, as
// Ledger.Entries with Filter{Kind: kind} does, in the snapshot.
func (s *Snapshot) EntriesOfKind(ctx context.Context, kind string) iter.Seq2[leaf.Entry, error] {
	return queryEntries(ctx, s.tx, nil, Filter{Kind: kind})
}

// Size is one more than the largest stored seq (0 when empty): the size
// the entries claim, whether or not some are missing.
func (s *Snapshot) Size(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.tx.QueryRowContext(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("ledger: snapshot: size: %w", classify(err))
	}
	return uint64(n), nil
}

// Checkpoints returns the stored checkpoints in id order.
func (s *Snapshot) Checkpoints(ctx context.Context) ([]StoredCheckpoint, error) {
	cps, err := listCheckpoints(ctx, s.tx, `SELECT id, size, root, note, created_at FROM checkpoints ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: snapshot: %w", err)
	}
	return cps, nil
}

// Entries yields every stored entry row in seq order, as stored. A row
// whose seq is not larger than the one before it cannot come from a sound
// file (seq is the rowid, read in order): SQLite hands such rows back,
// zero-filled, from a file cut short inside a page. Iteration stops there
// with an ErrCorrupt error.
func (s *Snapshot) Entries(ctx context.Context) iter.Seq2[RawEntry, error] {
	return s.entries(ctx, entriesOnly, LookupKey{})
}

// entries reads the rows and, by what, more of each (with key).
func (s *Snapshot) entries(ctx context.Context, what int, key LookupKey) iter.Seq2[RawEntry, error] {
	return func(yield func(RawEntry, error) bool) {
		sel := `seq, ` + keptLeafColumn + `, leaf_hash, chain, ` + hashedTypes
		var args []any
		switch what {
		case entriesWithColumns:
			// A value that is not text (possible once STRICT is taken
			// off the table) is read as a marker no leaf member can be
			// (columnText shows it): as text it would pass for the
			// member it imitates, which lookups do not find.
			sel += `, ` + typedColumns
		case entriesFingerprinted:
			sel += `, custody_columns_fp(?1, ?2, seq, kind, conversation_id, message_id, run_id)`
			args = key.args()
		}
		rows, err := s.tx.QueryContext(ctx, `SELECT `+sel+` FROM entries ORDER BY seq`, args...)
		if err != nil {
			yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
			return
		}
		defer rows.Close()
		var (
			seq             int64
			leaf            keptLeaf
			lhRaw, chainRaw sql.RawBytes
			types           sql.NullString
			cols            Columns // strings the driver made for each row: kept, copied by value
			fp              int64
			order           ascending
		)
		dest := []any{&seq, &leaf, &lhRaw, &chainRaw, &types}
		switch what {
		case entriesWithColumns:
			dest = append(dest, &cols[0], &cols[1], &cols[2], &cols[3])
		case entriesFingerprinted:
			dest = append(dest, &fp)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
				return
			}
			if err := order.next(seq); err != nil {
				yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", err))
				return
			}
			if types.Valid && strings.Contains(types.String, "null") {
				// NOT NULL columns: a row with one missing comes from a
				// damaged file, as a row out of order does.
				yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w: seq %d reads with a leaf, leaf_hash or chain missing (%s): the file is cut short or overwritten", ErrCorrupt, seq, types.String))
				return
			}
			if !yield(RawEntry{Seq: uint64(seq), Leaf: leaf, LeafHash: lhRaw, Chain: chainRaw, Columns: cols, ColumnsFP: uint64(fp), Types: types.String}, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
		}
	}
}

// ascending checks that the rows of a query ordered by seq come in
// strictly increasing seq order. seq is the entries table's rowid, so a
// sound file cannot break that order; a file cut short (or overwritten)
// inside a page can: SQLite reads the missing bytes as zeros, and hands
// back rows whose seq is 0 and whose columns are NULL. Such a row is
// damage, never the entry it would name.
type ascending struct {
	prev  int64
	begun bool
}

// next takes the seq of the next row; an ErrCorrupt error if it is not
// larger than the one before it.
func (a *ascending) next(seq int64) error {
	if a.begun && seq <= a.prev {
		return fmt.Errorf("%w: after seq %d a row reads as seq %d (rows out of order: the file is cut short or overwritten)", ErrCorrupt, a.prev, seq)
	}
	a.prev, a.begun = seq, true
	return nil
}
