package ledger

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// Prove builds the inclusion proof of the entry at seq against the latest
// stored checkpoint that covers it (ErrNotCovered if none does). The proof
// is checked before it is returned, so a ledger whose stored hashes no
// longer match its checkpoint, whose checkpoint ids are not continuous, or
// whose proved leaf is not strict (leaf.CheckLeaf) yields ErrInconsistent,
// not a proof.
func (l *Ledger) Prove(ctx context.Context, seq uint64) (leaf.Proof, error) {
	return l.ProveWith(ctx, seq, nil)
}

// ProveWith is Prove for a caller that already read the leaf hashes of
// the first len(known) entries (produce proves its production entry after
// reading the whole ledger): only the hashes after them are read. The
// proof is still checked against the checkpoint's signed root, so a
// known hash that is not the stored one yields ErrInconsistent.
func (l *Ledger) ProveWith(ctx context.Context, seq uint64, known []hashchain.Hash) (leaf.Proof, error) {
	tx, err := l.rdb.BeginTx(ctx, nil)
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	defer tx.Rollback()
	head, err := readHead(ctx, tx)
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	if seq >= head.Size {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w (the ledger has %d entries)", seq, ErrNotFound, head.Size)
	}
	cps, err := listCheckpoints(ctx, tx, `SELECT id, size, root, note, created_at FROM checkpoints WHERE size > ? ORDER BY id DESC LIMIT 1`, int64(seq))
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	if len(cps) == 0 {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, ErrNotCovered)
	}
	cp := cps[0]
	noted, err := NoteCheckpoint(cp.Note)
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: checkpoint %d: %w", seq, ErrInconsistent, cp.ID, err)
	}
	if noted.Size != cp.Size || noted.Root != cp.Root || noted.Origin != l.origin {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: checkpoint %d's columns disagree with its note", seq, ErrInconsistent, cp.ID)
	}
	if err := checkCheckpointIDs(ctx, tx); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	if cp.Size > head.Size {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: ledger truncated: checkpoint has %d entries, ledger has %d", seq, ErrInconsistent, cp.Size, head.Size)
	}

	hashes := make([]hashchain.Hash, 0, cp.Size)
	hashes = append(hashes, known[:min(uint64(len(known)), cp.Size)]...)
	rows, err := tx.QueryContext(ctx, `SELECT seq, leaf_hash FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq`, int64(len(hashes)), int64(cp.Size))
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	defer rows.Close()
	var order ascending
	for rows.Next() {
		var s int64
		var lh []byte
		if err := rows.Scan(&s, &lh); err != nil {
			return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
		}
		if err := order.next(s); err != nil {
			return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
		}
		if uint64(s) != uint64(len(hashes)) || len(lh) != hashchain.HashSize {
			return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: seq %d: missing entry or damaged row", seq, ErrInconsistent, len(hashes))
		}
		hashes = append(hashes, hashchain.Hash(lh))
	}
	if err := rows.Err(); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	rows.Close()
	var leafBytes []byte
	if err := tx.QueryRowContext(ctx, `SELECT leaf FROM entries WHERE seq = ?`, int64(seq)).Scan(&leafBytes); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	path, err := hashchain.InclusionProof(hashes, seq)
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	p := leaf.Proof{
		Format:     leaf.ProofFormat,
		Index:      seq,
		TreeSize:   cp.Size,
		Leaf:       leafBytes,
		LeafHash:   hashchain.LeafHash(leafBytes),
		Inclusion:  path,
		Checkpoint: cp.Note,
	}
	if err := leaf.CheckLeaf(leafBytes); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: %w", seq, ErrInconsistent, err)
	}
	if p.LeafHash != hashes[seq] {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: the leaf does not hash to its stored leaf hash", seq, ErrInconsistent)
	}
	if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, p.LeafHash, p.Inclusion, cp.Root); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w: the stored leaf hashes do not have checkpoint %d's root", seq, ErrInconsistent, cp.ID)
	}
	att, err := attested(ctx, tx, cp.ID, cp.Note)
	if err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	att.Attach(&p)
	return p, nil
}
