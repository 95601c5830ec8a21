package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
)

// Snapshot is a consistent, read-only view of the ledger: one read
// transaction, so a concurrent export may keep appending while a verifier
// reads. It hands out the stored rows as they are, unchecked: judging them
// is internal/verify's work, not the store's.
type Snapshot struct {
	tx *sql.Tx
}

// RawEntry is one stored entries row as it is on disk. Leaf, LeafHash and
// Chain are only valid until the iteration moves on; copy what you keep.
// LeafHash and Chain are the stored columns, of any length.
type RawEntry struct {
	Seq      uint64
	Leaf     []byte
	LeafHash []byte
	Chain    []byte
}

// Snapshot opens a read-only snapshot. Close it when done.
func (l *Ledger) Snapshot(ctx context.Context) (*Snapshot, error) {
	tx, err := l.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("ledger: snapshot: %w", classify(err))
	}
	return &Snapshot{tx: tx}, nil
}

// Close ends the snapshot's read transaction.
func (s *Snapshot) Close() error { return s.tx.Rollback() }

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

// Entries yields every stored entry row in seq order, as stored.
func (s *Snapshot) Entries(ctx context.Context) iter.Seq2[RawEntry, error] {
	return func(yield func(RawEntry, error) bool) {
		rows, err := s.tx.QueryContext(ctx, `SELECT seq, leaf, leaf_hash, chain FROM entries ORDER BY seq`)
		if err != nil {
			yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
			return
		}
		defer rows.Close()
		var (
			seq                   int64
			leaf, lhRaw, chainRaw sql.RawBytes
		)
		for rows.Next() {
			if err := rows.Scan(&seq, &leaf, &lhRaw, &chainRaw); err != nil {
				yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
				return
			}
			if !yield(RawEntry{Seq: uint64(seq), Leaf: leaf, LeafHash: lhRaw, Chain: chainRaw}, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(RawEntry{}, fmt.Errorf("ledger: snapshot: entries: %w", classify(err)))
		}
	}
}
