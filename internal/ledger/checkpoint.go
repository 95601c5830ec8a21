package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// StoredCheckpoint is a signed checkpoint kept in the ledger.
type StoredCheckpoint struct {
	ID int64 // 1, 2, 3, … in signing order
	// Checkpoint holds the size and root columns, and the origin read
	// from the note's body (empty if the note cannot be parsed).
	hashchain.Checkpoint
	Note      []byte // the C2SP signed note, as signed
	CreatedAt time.Time
}

// Checkpoint signs a checkpoint of the whole ledger with signerKey (a note
// signer key whose name is the ledger's origin), stores it and returns it.
// Before signing it checks what it is about to vouch for: the stored
// checkpoints' ids run 1, 2, 3, … with sizes that never decrease, every
// entry since the previous checkpoint is a strict leaf (leaf.CheckLeaf:
// I-JSON, no duplicate member, RFC 8785 bytes, a custody entry), hashes to
// its stored leaf hash and continues the chain, and the tree still has the
// previous checkpoint's root at its size; otherwise it signs nothing and
// returns ErrInconsistent naming the first failing seq or checkpoint. A
// key that is not this ledger's returns ErrWrongKey. If the latest stored
// checkpoint already says the same, it is returned and nothing is stored.
func (l *Ledger) Checkpoint(ctx context.Context, signerKey string) (StoredCheckpoint, error) {
	return l.CheckpointFrom(ctx, signerKey, nil)
}

// CheckpointBase is a prefix of the ledger checked as Checkpoint checks it,
// made by PrepareCheckpoint.
type CheckpointBase struct {
	tree   treeState
	prevID int64 // the latest checkpoint when it was made; 0 if none
}

// Size is how many entries the base covers.
func (b *CheckpointBase) Size() uint64 { return b.tree.b.Size() }

// PrepareCheckpoint does, on the reader pool, the checks Checkpoint would
// do of the ledger as it stands, and keeps the result: a CheckpointFrom
// given it soon after reads only the entries appended since. Checking a
// large ledger reads all of it, so a command that ends with a checkpoint
// (a diff) runs this beside its own work.
func (l *Ledger) PrepareCheckpoint(ctx context.Context) (*CheckpointBase, error) {
	tx, err := l.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("ledger: prepare checkpoint: %w", classify(err))
	}
	defer tx.Rollback()
	head, err := readHead(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("ledger: prepare checkpoint: %w", err)
	}
	prev, prevID, err := l.verifiedLatest(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("ledger: prepare checkpoint: %w", err)
	}
	if err := checkCheckpointIDs(ctx, tx); err != nil {
		return nil, fmt.Errorf("ledger: prepare checkpoint: %w", err)
	}
	base := &CheckpointBase{prevID: prevID, tree: treeState{b: hashchain.NewRootBuilder()}}
	if err := base.tree.extendChecked(ctx, tx, head.Size, prev); err != nil {
		return nil, fmt.Errorf("ledger: prepare checkpoint: %w", err)
	}
	return base, nil
}

// verifiedLatest returns the latest stored checkpoint, its signature
// checked, and its id (nil and 0 when there is none).
func (l *Ledger) verifiedLatest(ctx context.Context, q querier) (*hashchain.Checkpoint, int64, error) {
	last, ok, err := latestCheckpoint(ctx, q)
	if err != nil || !ok {
		return nil, 0, err
	}
	c, err := hashchain.VerifyCheckpoint(last.Note, l.verifierKey)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: stored checkpoint %d: %w", ErrInconsistent, last.ID, err)
	}
	return &c, last.ID, nil
}

// CheckpointFrom is Checkpoint resuming from base (when not nil, still
// within the ledger, and no checkpoint was signed since it was made;
// otherwise it checks the whole ledger, as Checkpoint does).
func (l *Ledger) CheckpointFrom(ctx context.Context, signerKey string, base *CheckpointBase) (StoredCheckpoint, error) {
	return l.checkpoint(ctx, signerKey, base, nil, nil)
}

// CheckpointWith is Checkpoint (CheckpointErasure when erasure is not
// nil) with change run first, in the transaction that signs and stores
// the checkpoint: what change writes (an entry, a setting) is covered by
// that checkpoint, and is not written at all when no checkpoint is
// stored — change fails, the ledger fails the checks, the key does not
// sign for it.
func (l *Ledger) CheckpointWith(ctx context.Context, signerKey string, erasure *uint64, change func(*Tx) error) (StoredCheckpoint, error) {
	if erasure != nil {
		if err := l.checkErasureEntry(ctx, *erasure); err != nil {
			return StoredCheckpoint{}, err
		}
	}
	return l.checkpoint(ctx, signerKey, nil, erasure, change)
}

// CheckpointErasure is Checkpoint for a checkpoint that also vouches for
// the erasure entry at seq (its "erasure <seq>" line): what makes the
// objects that entry lists count as erased, not missing, in verify
// --evidence. A routine checkpoint over an erasure entry vouches for its
// place in the ledger, not for the deletion: anyone who can write the
// ledger file can append an erasure entry, and the next routine
// checkpoint would cover it. So only this, called by custody erase or
// custody checkpoint --erasure with the signer key, makes one the
// custodian's word. It returns ErrNotFound when there is no entry at seq
// and an error when that entry is not an erasure. It stores a new
// checkpoint even when the latest covers the whole ledger (unless the
// latest is this very one).
func (l *Ledger) CheckpointErasure(ctx context.Context, signerKey string, seq uint64) (StoredCheckpoint, error) {
	if err := l.checkErasureEntry(ctx, seq); err != nil {
		return StoredCheckpoint{}, err
	}
	return l.checkpoint(ctx, signerKey, nil, &seq, nil)
}

// checkErasureEntry checks that the entry at seq is an erasure.
func (l *Ledger) checkErasureEntry(ctx context.Context, seq uint64) error {
	e, err := l.Entry(ctx, seq)
	if err != nil {
		return fmt.Errorf("ledger: checkpoint erasure: %w", err)
	}
	if e.Kind != leaf.KindErasure {
		return fmt.Errorf("ledger: checkpoint erasure: entry %d is a %s entry, not an erasure", seq, e.Kind)
	}
	return nil
}

// VouchedErasures returns the erasure entries that stored checkpoints
// vouch for: those whose note verifies with verifierKey and carries an
// "erasure <seq>" line. Whether their roots hold is verify's to say.
func (l *Ledger) VouchedErasures(ctx context.Context, verifierKey string) (map[uint64]bool, error) {
	cps, err := l.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, c := range cps {
		if cp, err := hashchain.VerifyCheckpoint(c.Note, verifierKey); err == nil && cp.HasErasure {
			out[cp.Erasure] = true
		}
	}
	return out, nil
}

// checkpoint is CheckpointFrom, vouching for the erasure entry at
// *erasure when not nil, after change (when not nil) in its transaction.
func (l *Ledger) checkpoint(ctx context.Context, signerKey string, base *CheckpointBase, erasure *uint64, change func(*Tx) error) (StoredCheckpoint, error) {
	var out StoredCheckpoint
	stored := false
	err := l.Update(ctx, func(tx *Tx) error {
		if change != nil {
			if err := change(tx); err != nil {
				return err
			}
		}
		head, err := tx.Head()
		if err != nil {
			return err
		}
		last, haveLast, err := latestCheckpoint(ctx, tx.tx)
		if err != nil {
			return err
		}
		prev, _, err := l.verifiedLatest(ctx, tx.tx)
		if err != nil {
			return fmt.Errorf("ledger: checkpoint: %w", err)
		}
		if err := checkCheckpointIDs(ctx, tx.tx); err != nil {
			return fmt.Errorf("ledger: checkpoint: %w", err)
		}
		tree := treeState{b: hashchain.NewRootBuilder()}
		if base != nil && base.prevID == last.ID && base.Size() <= head.Size {
			// Resume on a copy: the base may serve again.
			rb, err := hashchain.RootBuilderFromState(base.tree.b.Size(), base.tree.b.State())
			if err != nil {
				return fmt.Errorf("ledger: checkpoint: %w", err)
			}
			tree = treeState{b: rb, chain: base.tree.chain}
		}
		if err := tree.extendChecked(ctx, tx.tx, head.Size, prev); err != nil {
			return fmt.Errorf("ledger: checkpoint: %w", err)
		}
		cp := hashchain.Checkpoint{Origin: l.origin, Size: head.Size, Root: tree.b.Root()}
		if erasure != nil {
			cp.HasErasure, cp.Erasure = true, *erasure
		}
		note, err := hashchain.SignCheckpoint(cp, signerKey)
		if err != nil {
			if errors.Is(err, hashchain.ErrBadKey) {
				return fmt.Errorf("ledger: checkpoint: %w (this ledger's origin is %q): %w", ErrWrongKey, l.origin, err)
			}
			return fmt.Errorf("ledger: checkpoint: %w", err)
		}
		if _, err := hashchain.VerifyCheckpoint(note, l.verifierKey); err != nil {
			return fmt.Errorf("ledger: checkpoint: %w: the signature does not verify with the ledger's verifier key", ErrWrongKey)
		}
		if haveLast && last.Size == cp.Size && bytes.Equal(last.Note, note) {
			out = last
			return nil
		}
		out = StoredCheckpoint{ID: last.ID + 1, Checkpoint: cp, Note: note, CreatedAt: l.now().UTC().Truncate(time.Millisecond)}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO checkpoints (id, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)`,
			out.ID, int64(out.Size), out.Root[:], string(out.Note), leaf.FormatTime(out.CreatedAt)); err != nil {
			return fmt.Errorf("ledger: checkpoint: %w", classify(err))
		}
		stored = true
		return nil
	})
	if err == nil && stored && l.after != nil {
		l.after(ctx, out)
	}
	return out, err
}

// treeState is a checked prefix of the ledger: the Merkle compact range of
// its entries and the chain link after the last of them.
type treeState struct {
	b     *hashchain.RootBuilder
	chain hashchain.Hash
}

// extendChecked streams the leaf hashes of the entries from t's size up to
// size into t, re-checking the entries after prev (leaf hash and chain)
// and prev's root at its size.
func (t *treeState) extendChecked(ctx context.Context, q querier, size uint64, prev *hashchain.Checkpoint) error {
	var from uint64
	if prev != nil {
		if prev.Size > size {
			return fmt.Errorf("%w: ledger truncated: checkpoint has %d entries, ledger has %d", ErrInconsistent, prev.Size, size)
		}
		from = prev.Size
	}
	b := t.b
	check := func() error {
		if prev != nil && b.Size() == prev.Size && b.Root() != prev.Root {
			return fmt.Errorf("%w: the root at size %d no longer matches the stored checkpoint", ErrInconsistent, prev.Size)
		}
		return nil
	}
	if err := check(); err != nil {
		return err
	}
	start := b.Size()
	// Entries before prev count by their stored leaf hash (prev's root
	// checks them); their leaves are not fetched, which halves the cost
	// of a checkpoint of a large ledger.
	rows, err := q.QueryContext(ctx, `SELECT seq, CASE WHEN seq >= ? THEN leaf END, leaf_hash, chain FROM entries WHERE seq >= ? ORDER BY seq`,
		int64(from), int64(start))
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	prevChain := t.chain
	var seq int64
	var leafBytes, lh, chain sql.RawBytes
	var order ascending
	for rows.Next() && b.Size() < size {
		if err := rows.Scan(&seq, &leafBytes, &lh, &chain); err != nil {
			return classify(err)
		}
		if err := order.next(seq); err != nil {
			return err
		}
		n := b.Size()
		if uint64(seq) != n || len(lh) != hashchain.HashSize || len(chain) != hashchain.HashSize {
			return fmt.Errorf("%w: seq %d: missing entry or damaged row", ErrInconsistent, n)
		}
		stored := hashchain.Hash(lh)
		if n >= from {
			if err := leaf.CheckLeaf(leafBytes); err != nil {
				return fmt.Errorf("%w: seq %d: %w", ErrInconsistent, n, err)
			}
			if hashchain.LeafHash(leafBytes) != stored {
				return fmt.Errorf("%w: seq %d: leaf does not hash to its stored leaf hash", ErrInconsistent, n)
			}
			if hashchain.ChainLink(prevChain, stored) != hashchain.Hash(chain) {
				return fmt.Errorf("%w: seq %d: chain link does not follow from the previous entry", ErrInconsistent, n)
			}
		}
		prevChain = hashchain.Hash(chain)
		b.Append(stored)
		if err := check(); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if b.Size() != size {
		return fmt.Errorf("%w: expected %d entries, read %d", ErrInconsistent, size, b.Size())
	}
	t.chain = prevChain
	return nil
}

// checkCheckpointIDs checks that the stored checkpoints' ids run 1, 2, 3,
// … with none missing and their sizes never decrease (a deleted or
// reordered checkpoint row). It reads only the two small columns.
func checkCheckpointIDs(ctx context.Context, q querier) error {
	rows, err := q.QueryContext(ctx, `SELECT id, size FROM checkpoints ORDER BY id`)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	var want, id, size, prev int64 = 1, 0, 0, 0
	for rows.Next() {
		if err := rows.Scan(&id, &size); err != nil {
			return classify(err)
		}
		if id != want {
			return fmt.Errorf("%w: stored checkpoint #%d is missing (the one after #%d is #%d)", ErrInconsistent, want, want-1, id)
		}
		if size < prev {
			return fmt.Errorf("%w: stored checkpoint #%d has size %d, smaller than #%d's %d", ErrInconsistent, id, size, id-1, prev)
		}
		want, prev = id+1, size
	}
	return classify(rows.Err())
}

// Checkpoints returns every stored checkpoint in signing order.
func (l *Ledger) Checkpoints(ctx context.Context) ([]StoredCheckpoint, error) {
	return listCheckpoints(ctx, l.rdb, `SELECT id, size, root, note, created_at FROM checkpoints ORDER BY id`)
}

// LatestCheckpoint returns the most recently signed checkpoint, and false
// if there is none.
func (l *Ledger) LatestCheckpoint(ctx context.Context) (StoredCheckpoint, bool, error) {
	return latestCheckpoint(ctx, l.rdb)
}

func latestCheckpoint(ctx context.Context, q querier) (StoredCheckpoint, bool, error) {
	cs, err := listCheckpoints(ctx, q, `SELECT id, size, root, note, created_at FROM checkpoints ORDER BY id DESC LIMIT 1`)
	if err != nil || len(cs) == 0 {
		return StoredCheckpoint{}, false, err
	}
	return cs[0], true, nil
}

func listCheckpoints(ctx context.Context, q querier, query string, args ...any) ([]StoredCheckpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: checkpoints: %w", classify(err))
	}
	defer rows.Close()
	var out []StoredCheckpoint
	for rows.Next() {
		var c StoredCheckpoint
		var size int64
		var root []byte
		var note, created string
		if err := rows.Scan(&c.ID, &size, &root, &note, &created); err != nil {
			return nil, fmt.Errorf("ledger: checkpoints: %w", classify(err))
		}
		if size < 0 || len(root) != hashchain.HashSize {
			return nil, fmt.Errorf("ledger: checkpoint %d: %w: damaged row", c.ID, ErrInconsistent)
		}
		c.Size, c.Root, c.Note = uint64(size), hashchain.Hash(root), []byte(note)
		if nc, err := NoteCheckpoint(c.Note); err == nil {
			c.Origin = nc.Origin
		}
		// created_at is when custody stored the checkpoint, not signed and
		// not evidence: one that cannot be read is left zero (shown as
		// unknown), as for timestamps and cosignatures, rather than stop
		// a verify before it names what is wrong with the ledger.
		c.CreatedAt, _ = leaf.ParseTime(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: checkpoints: %w", classify(err))
	}
	return out, nil
}

// NoteCheckpoint parses the checkpoint body of a signed note without
// checking any signature. Use hashchain.VerifyCheckpoint to trust it.
func NoteCheckpoint(note []byte) (hashchain.Checkpoint, error) {
	// A signed note is the text (ending in a newline), a blank line, then
	// signature lines: the body ends at the first blank line.
	i := bytes.Index(note, []byte("\n\n"))
	if i < 0 {
		return hashchain.Checkpoint{}, fmt.Errorf("ledger: parse note: %w: no signature block", hashchain.ErrMalformed)
	}
	return hashchain.ParseCheckpointBody(note[:i+1])
}
