package ledger

import (
	"context"
	"database/sql"
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
// reading the whole ledger): only the hashes after them are read, none
// when known covers the checkpoint. The proof is still checked against
// the checkpoint's signed root, so a known hash that is not the stored
// one yields ErrInconsistent.
func (l *Ledger) ProveWith(ctx context.Context, seq uint64, known []hashchain.Hash) (leaf.Proof, error) {
	return l.prove(ctx, seq, known, nil)
}

// ProveIn is ProveWith for many proofs over the same leaf hashes: tree is
// hashchain.NewTree over the leaf hashes of the first entries, read once
// (LeafHashes). A proof against a checkpoint of tree.Size() entries then
// reads no leaf hash and hashes O(log² n) nodes, where ProveWith hashes
// every leaf (O(n)) each time; against another checkpoint it is
// ProveWith with tree.Leaves(). A nil tree is Prove.
func (l *Ledger) ProveIn(ctx context.Context, seq uint64, tree *hashchain.Tree) (leaf.Proof, error) {
	if tree == nil {
		return l.prove(ctx, seq, nil, nil)
	}
	return l.prove(ctx, seq, tree.Leaves(), tree)
}

// LeafHashes returns the stored leaf hashes of the first size entries,
// read in one query, in order: what Prove reads for each proof, read once
// for a caller that proves many entries (ProveIn). Each row is checked as
// Prove checks it (ErrInconsistent for a missing entry or a damaged
// row); a ledger of fewer than size entries is ErrNotFound.
func (l *Ledger) LeafHashes(ctx context.Context, size uint64) ([]hashchain.Hash, error) {
	tx, err := l.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: leaf hashes: %w", classify(err))
	}
	defer tx.Rollback()
	// The head first: size comes from the caller (a checkpoint's, which
	// the file may overstate), and the hashes are allocated at once.
	head, err := readHead(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("ledger: leaf hashes: %w", err)
	}
	if size > head.Size {
		return nil, fmt.Errorf("ledger: leaf hashes of %d entries: %w (the ledger has %d entries)", size, ErrNotFound, head.Size)
	}
	hashes, err := l.readLeafHashes(ctx, tx, make([]hashchain.Hash, 0, size), size)
	if err != nil {
		return nil, fmt.Errorf("ledger: leaf hashes: %w", err)
	}
	return hashes, nil
}

// readLeafHashes appends to hashes the stored leaf hashes of the entries
// from seq len(hashes) up to size, in one query, scanned in place (no
// allocation a row).
func (l *Ledger) readLeafHashes(ctx context.Context, q querier, hashes []hashchain.Hash, size uint64) ([]hashchain.Hash, error) {
	from := len(hashes)
	rows, err := q.QueryContext(ctx, `SELECT seq, leaf_hash FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq`, int64(from), int64(size))
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var order ascending
	var s int64
	var lh sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&s, &lh); err != nil {
			return nil, classify(err)
		}
		if err := order.next(s); err != nil {
			return nil, err
		}
		if uint64(s) != uint64(len(hashes)) || len(lh) != hashchain.HashSize {
			return nil, fmt.Errorf("%w: seq %d: missing entry or damaged row", ErrInconsistent, len(hashes))
		}
		hashes = append(hashes, hashchain.Hash(lh))
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if uint64(len(hashes)) != size {
		return nil, fmt.Errorf("%w: seq %d: missing entry", ErrInconsistent, len(hashes))
	}
	if l.onLeafHashes != nil {
		l.onLeafHashes(len(hashes) - from)
	}
	return hashes, nil
}

// prove is ProveWith, and ProveIn when tree is not nil (known is then its
// leaves).
func (l *Ledger) prove(ctx context.Context, seq uint64, known []hashchain.Hash, tree *hashchain.Tree) (leaf.Proof, error) {
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

	// The leaf hashes of the checkpoint's tree: the known ones, and those
	// after them read (known is never written to).
	var hashes []hashchain.Hash
	if uint64(len(known)) >= cp.Size {
		hashes = known[:cp.Size:cp.Size]
	} else {
		hashes = append(make([]hashchain.Hash, 0, cp.Size), known...)
		if hashes, err = l.readLeafHashes(ctx, tx, hashes, cp.Size); err != nil {
			return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
		}
	}
	var leafBytes []byte
	if err := tx.QueryRowContext(ctx, `SELECT leaf FROM entries WHERE seq = ?`, int64(seq)).Scan(&leafBytes); err != nil {
		return leaf.Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	var path []hashchain.Hash
	if tree != nil && tree.Size() == cp.Size {
		path, err = tree.InclusionProof(seq)
	} else {
		path, err = hashchain.InclusionProof(hashes, seq)
	}
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
