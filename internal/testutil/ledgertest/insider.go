package ledgertest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Rewrite plays the insider who holds the signing key: it edits the entry
// at seq (edit changes the decoded entry, which is written back in its
// canonical form), recomputes every leaf hash and chain link from there,
// and re-signs every stored checkpoint with signerKey, the matter's own
// key — working on the ledger file with raw SQL, the append-only triggers
// dropped first — and writes each re-signed checkpoint over its copy
// beside the evidence (evidence/checkpoints/<size>.note beside the
// ledger, where there is one: a folder store the insider can write).
// Every hash, link, root and signature then holds: only the evidence the
// leaf was taken from can show the change.
func Rewrite(ctx context.Context, path, signerKey string, seq uint64, edit func(*leaf.Entry)) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=rw&_journal_mode=WAL")
	if err != nil {
		return fmt.Errorf("ledgertest: rewrite: %w", err)
	}
	defer db.Close()
	notes, err := rewrite(ctx, db, signerKey, seq, edit)
	if err != nil {
		return fmt.Errorf("ledgertest: rewrite seq %d: %w", seq, err)
	}
	for size, note := range notes {
		p := filepath.Join(filepath.Dir(path), "evidence", "checkpoints", strconv.FormatUint(size, 10)+".note")
		if _, err := os.Lstat(p); err != nil {
			continue // no copy of this one
		}
		os.Remove(p) // custody writes it read-only
		if err := os.WriteFile(p, note, 0o444); err != nil {
			return fmt.Errorf("ledgertest: rewrite seq %d: %w", seq, err)
		}
	}
	return nil
}

// rewrite is Rewrite's work on the ledger file; it returns the re-signed
// checkpoints' notes by size.
func rewrite(ctx context.Context, db *sql.DB, signerKey string, seq uint64, edit func(*leaf.Entry)) (map[uint64][]byte, error) {
	for _, s := range []string{`DROP TRIGGER IF EXISTS entries_append_only_update`, `DROP TRIGGER IF EXISTS checkpoints_append_only_update`} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, err
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT leaf FROM entries ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	var leaves [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return nil, err
		}
		leaves = append(leaves, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seq >= uint64(len(leaves)) {
		return nil, fmt.Errorf("the ledger has %d entries", len(leaves))
	}
	e, err := leaf.DecodeLeaf(leaves[seq])
	if err != nil {
		return nil, err
	}
	before := e
	edit(&e)
	if leaves[seq], err = e.AppendLeaf(nil); err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	hashes := make([]hashchain.Hash, len(leaves))
	var chain hashchain.Hash
	for i, l := range leaves {
		hashes[i] = hashchain.LeafHash(l)
		chain = hashchain.ChainLink(chain, hashes[i])
		if uint64(i) < seq {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE entries SET leaf = ?, leaf_hash = ?, chain = ? WHERE seq = ?`,
			l, hashes[i][:], chain[:], i); err != nil {
			return nil, err
		}
	}
	if err := rewriteLookups(ctx, tx, seq, &before, &e); err != nil {
		return nil, err
	}
	cps, err := tx.QueryContext(ctx, `SELECT id, size, note FROM checkpoints ORDER BY id`)
	if err != nil {
		return nil, err
	}
	type cp struct {
		id, size uint64
		note     string
	}
	var all []cp
	for cps.Next() {
		var c cp
		if err := cps.Scan(&c.id, &c.size, &c.note); err != nil {
			cps.Close()
			return nil, err
		}
		all = append(all, c)
	}
	cps.Close()
	notes := map[uint64][]byte{}
	for _, c := range all {
		// The body is the note's text before its blank line; the insider
		// keeps its erasure line, which vouches for an erasure entry.
		body, _, _ := strings.Cut(c.note, "\n\n")
		old, err := hashchain.ParseCheckpointBody([]byte(body + "\n"))
		if err != nil {
			return nil, fmt.Errorf("checkpoint %d: %w", c.id, err)
		}
		root := hashchain.Root(hashes[:c.size])
		note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: old.Origin, Size: c.size, Root: root,
			HasErasure: old.HasErasure, Erasure: old.Erasure}, signerKey)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET root = ?, note = ? WHERE id = ?`, root[:], string(note), c.id); err != nil {
			return nil, err
		}
		notes[c.size] = note
	}
	return notes, tx.Commit()
}

// rewriteLookups makes the lookup columns of the entry at seq, and its
// message index row, those of its edited form e (before, as it was), as
// custody would have written them: the insider leaves nothing verify
// could tell from an append.
func rewriteLookups(ctx context.Context, tx *sql.Tx, seq uint64, before, e *leaf.Entry) error {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	if _, err := tx.ExecContext(ctx, `UPDATE entries SET kind = ?, conversation_id = ?, message_id = ?, run_id = ? WHERE seq = ?`,
		e.Kind, null(e.ConversationID), null(e.MessageID), null(e.RunID), seq); err != nil {
		return err
	}
	if before.MessageID == e.MessageID {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'message\_keys%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	var levels []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		levels = append(levels, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range levels {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE seq = ?`, seq); err != nil {
			return err
		}
	}
	if e.MessageID != "" {
		_, err = tx.ExecContext(ctx, `INSERT INTO message_keys_recent (key, seq) VALUES (?, ?)`, ledger.MessageKey(e.MessageID), seq)
	}
	return err
}
