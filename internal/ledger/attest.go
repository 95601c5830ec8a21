package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/redact"
)

// Attestations of checkpoints by others — RFC 3161 timestamp tokens and
// witness cosignatures — live in two INSERT-only tables beside
// checkpoints. They are additive: created (IF NOT EXISTS) whenever a
// ledger is created or opened for writing, without a schema version of
// their own, so an older custody reads the ledger as before and a reader
// treats a missing table as empty. Nothing in them changes what a
// checkpoint signs: each row names its checkpoint by id and is checked
// against that checkpoint's note.
const attestSchema = `
CREATE TABLE IF NOT EXISTS checkpoint_timestamps (
    id            INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL,
    tsa           TEXT    NOT NULL,
    token         BLOB,
    error         TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    CHECK ((token IS NULL) <> (error = ''))
) STRICT;
CREATE INDEX IF NOT EXISTS checkpoint_timestamps_by_checkpoint ON checkpoint_timestamps (checkpoint_id);
CREATE TRIGGER IF NOT EXISTS checkpoint_timestamps_append_only_update BEFORE UPDATE ON checkpoint_timestamps
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoint_timestamps are append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS checkpoint_timestamps_append_only_delete BEFORE DELETE ON checkpoint_timestamps
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoint_timestamps are append-only: DELETE refused');
END;
CREATE TABLE IF NOT EXISTS checkpoint_cosignatures (
    id            INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL,
    witness       TEXT    NOT NULL,
    signature     TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS checkpoint_cosignatures_by_checkpoint ON checkpoint_cosignatures (checkpoint_id);
CREATE TRIGGER IF NOT EXISTS checkpoint_cosignatures_append_only_update BEFORE UPDATE ON checkpoint_cosignatures
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoint_cosignatures are append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS checkpoint_cosignatures_append_only_delete BEFORE DELETE ON checkpoint_cosignatures
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoint_cosignatures are append-only: DELETE refused');
END;
`

// ensureAttestTables creates the attestation tables if they are missing,
// in one transaction (its own migrate step, apart from user_version).
func (l *Ledger) ensureAttestTables(ctx context.Context) error {
	// Most opens find them: no write transaction then.
	a, err := hasTable(ctx, l.rdb, "checkpoint_timestamps")
	if err != nil {
		return fmt.Errorf("attestation tables: %w", err)
	}
	b, err := hasTable(ctx, l.rdb, "checkpoint_cosignatures")
	if err != nil {
		return fmt.Errorf("attestation tables: %w", err)
	}
	if a && b {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("attestation tables: %w", classify(err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, attestSchema); err != nil {
		return fmt.Errorf("attestation tables: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("attestation tables: %w", classify(err))
	}
	return nil
}

// Timestamp is one RFC 3161 token for a stored checkpoint, or the record
// that an authority gave none (Token nil, Error why).
type Timestamp struct {
	ID           int64
	CheckpointID int64
	TSA          string // the authority's URL
	Token        []byte // DER TimeStampToken over SHA-256 of the checkpoint's note
	Error        string // why there is no token
	CreatedAt    time.Time
}

// Cosignature is one witness cosignature of a stored checkpoint: a note
// signature line (C2SP tlog-cosignature), "— <witness> <base64>\n".
type Cosignature struct {
	ID           int64
	CheckpointID int64
	Witness      string // the witness key's name
	Signature    string // the signature line, with its newline
	CreatedAt    time.Time
}

// AddTimestamp stores a token (or, with token nil, the failure errText)
// for the stored checkpoint checkpointID. The token is not checked here:
// the caller checked it, and verify checks it again.
func (l *Ledger) AddTimestamp(ctx context.Context, checkpointID int64, tsaURL string, token []byte, errText string) error {
	if (token == nil) == (errText == "") {
		return errors.New("ledger: add timestamp: exactly one of a token and an error")
	}
	return l.Update(ctx, func(tx *Tx) error {
		if err := checkpointExists(ctx, tx.tx, checkpointID); err != nil {
			return fmt.Errorf("ledger: add timestamp: %w", err)
		}
		var tok any
		if token != nil {
			tok = token
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO checkpoint_timestamps (checkpoint_id, tsa, token, error, created_at) VALUES (?, ?, ?, ?, ?)`,
			checkpointID, tsaURL, tok, errText, leaf.FormatTime(l.now())); err != nil {
			return fmt.Errorf("ledger: add timestamp: %w", classify(err))
		}
		return nil
	})
}

// AddCosignature stores a witness's cosignature line of the stored
// checkpoint checkpointID, unless the same line is already stored.
func (l *Ledger) AddCosignature(ctx context.Context, checkpointID int64, witness, line string) error {
	return l.Update(ctx, func(tx *Tx) error {
		if err := checkpointExists(ctx, tx.tx, checkpointID); err != nil {
			return fmt.Errorf("ledger: add cosignature: %w", err)
		}
		var n int
		if err := tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM checkpoint_cosignatures WHERE checkpoint_id = ? AND signature = ?`, checkpointID, line).Scan(&n); err != nil {
			return fmt.Errorf("ledger: add cosignature: %w", classify(err))
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO checkpoint_cosignatures (checkpoint_id, witness, signature, created_at) VALUES (?, ?, ?, ?)`,
			checkpointID, witness, line, leaf.FormatTime(l.now())); err != nil {
			return fmt.Errorf("ledger: add cosignature: %w", classify(err))
		}
		return nil
	})
}

func checkpointExists(ctx context.Context, q querier, id int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM checkpoints WHERE id = ?`, id).Scan(&n); err != nil {
		return classify(err)
	}
	if n == 0 {
		return fmt.Errorf("checkpoint #%d: %w", id, ErrNotFound)
	}
	return nil
}

// Timestamps returns every stored timestamp row in id order (none when
// the ledger has no such table: written before them, or by another
// custody).
func (l *Ledger) Timestamps(ctx context.Context) ([]Timestamp, error) {
	return listTimestamps(ctx, l.rdb)
}

// Cosignatures returns every stored cosignature row in id order.
func (l *Ledger) Cosignatures(ctx context.Context) ([]Cosignature, error) {
	return listCosignatures(ctx, l.rdb)
}

// Timestamps is Ledger.Timestamps in the snapshot.
func (s *Snapshot) Timestamps(ctx context.Context) ([]Timestamp, error) {
	return listTimestamps(ctx, s.tx)
}

// Cosignatures is Ledger.Cosignatures in the snapshot.
func (s *Snapshot) Cosignatures(ctx context.Context) ([]Cosignature, error) {
	return listCosignatures(ctx, s.tx)
}

func hasTable(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		return false, classify(err)
	}
	return n > 0, nil
}

func listTimestamps(ctx context.Context, q querier) ([]Timestamp, error) {
	if ok, err := hasTable(ctx, q, "checkpoint_timestamps"); err != nil || !ok {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, checkpoint_id, tsa, token, error, created_at FROM checkpoint_timestamps ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: timestamps: %w", classify(err))
	}
	defer rows.Close()
	var out []Timestamp
	for rows.Next() {
		var t Timestamp
		var created string
		if err := rows.Scan(&t.ID, &t.CheckpointID, &t.TSA, &t.Token, &t.Error, &created); err != nil {
			return nil, fmt.Errorf("ledger: timestamps: %w", classify(err))
		}
		t.CreatedAt, _ = leaf.ParseTime(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: timestamps: %w", classify(err))
	}
	return out, nil
}

func listCosignatures(ctx context.Context, q querier) ([]Cosignature, error) {
	if ok, err := hasTable(ctx, q, "checkpoint_cosignatures"); err != nil || !ok {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, checkpoint_id, witness, signature, created_at FROM checkpoint_cosignatures ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: cosignatures: %w", classify(err))
	}
	defer rows.Close()
	var out []Cosignature
	for rows.Next() {
		var c Cosignature
		var created string
		if err := rows.Scan(&c.ID, &c.CheckpointID, &c.Witness, &c.Signature, &created); err != nil {
			return nil, fmt.Errorf("ledger: cosignatures: %w", classify(err))
		}
		c.CreatedAt, _ = leaf.ParseTime(created)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: cosignatures: %w", classify(err))
	}
	return out, nil
}

// ConsistencyProof returns the RFC 9162 consistency proof from the tree
// of the first oldSize entries to the tree of the first newSize, from the
// stored leaf hashes (a witness checks it against roots it already holds,
// so a wrong stored hash yields a proof that fails there).
func (l *Ledger) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) ([]hashchain.Hash, error) {
	if oldSize > newSize {
		return nil, fmt.Errorf("ledger: consistency proof: old size %d is larger than %d", oldSize, newSize)
	}
	hashes := make([]hashchain.Hash, 0, newSize)
	rows, err := l.rdb.QueryContext(ctx, `SELECT seq, leaf_hash FROM entries WHERE seq < ? ORDER BY seq`, int64(newSize))
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof: %w", classify(err))
	}
	defer rows.Close()
	var order ascending
	for rows.Next() {
		var s int64
		var lh []byte
		if err := rows.Scan(&s, &lh); err != nil {
			return nil, fmt.Errorf("ledger: consistency proof: %w", classify(err))
		}
		if err := order.next(s); err != nil {
			return nil, fmt.Errorf("ledger: consistency proof: %w", err)
		}
		if uint64(s) != uint64(len(hashes)) || len(lh) != hashchain.HashSize {
			return nil, fmt.Errorf("ledger: consistency proof: %w: seq %d: missing entry or damaged row", ErrInconsistent, len(hashes))
		}
		hashes = append(hashes, hashchain.Hash(lh))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: consistency proof: %w", classify(err))
	}
	if uint64(len(hashes)) != newSize {
		return nil, fmt.Errorf("ledger: consistency proof: the ledger has %d entries, not %d", len(hashes), newSize)
	}
	return hashchain.ConsistencyProof(hashes, oldSize)
}

// Attested is what every proof against one stored checkpoint carries
// besides its path: the checkpoint's note with the witnesses'
// cosignature lines appended (in the order they were stored), and the
// RFC 3161 tokens stored for it (failures left out), each authority's
// URL as custody shows it (redact.URL). Callers that write
// many proofs against one checkpoint (report, produce) read it once with
// Ledger.Attested and share it; Prove attaches the same.
type Attested struct {
	Note       []byte
	Timestamps []leaf.ProofTimestamp
}

// Attach gives p the attestations: its checkpoint becomes a.Note, its
// timestamps a.Timestamps. Both are shared, not copied: neither p nor a
// may change them afterwards.
func (a Attested) Attach(p *leaf.Proof) {
	p.Checkpoint = a.Note
	p.Timestamps = a.Timestamps
}

// Attested reads the attestations stored for the checkpoint cp (none
// when the ledger has no attestation tables), in one read transaction.
func (l *Ledger) Attested(ctx context.Context, cp StoredCheckpoint) (Attested, error) {
	tx, err := l.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Attested{}, fmt.Errorf("ledger: attestations of checkpoint %d: %w", cp.ID, classify(err))
	}
	defer tx.Rollback()
	a, err := attested(ctx, tx, cp.ID, cp.Note)
	if err != nil {
		return Attested{}, fmt.Errorf("ledger: attestations of checkpoint %d: %w", cp.ID, err)
	}
	return a, nil
}

// attested reads the tokens and cosignature lines of checkpoint
// checkpointID and appends the lines to note (a copy): the proof file
// then shows when, and who else saw, what it proves. A line already in
// the note is not appended twice.
func attested(ctx context.Context, q querier, checkpointID int64, note []byte) (Attested, error) {
	a := Attested{Note: append([]byte(nil), note...)}
	if ok, err := hasTable(ctx, q, "checkpoint_timestamps"); err != nil {
		return Attested{}, err
	} else if ok {
		rows, err := q.QueryContext(ctx, `SELECT tsa, token FROM checkpoint_timestamps WHERE checkpoint_id = ? AND token IS NOT NULL ORDER BY id`, checkpointID)
		if err != nil {
			return Attested{}, fmt.Errorf("timestamps: %w", classify(err))
		}
		defer rows.Close()
		for rows.Next() {
			var t leaf.ProofTimestamp
			if err := rows.Scan(&t.TSA, &t.Token); err != nil {
				return Attested{}, fmt.Errorf("timestamps: %w", classify(err))
			}
			// A proof goes to other parties: the authority's URL is named
			// as custody shows it, without the user info, query or
			// fragment an older custody accepted in it. No signature
			// covers it: the token is checked against the note alone.
			t.TSA = redact.URL(t.TSA)
			a.Timestamps = append(a.Timestamps, t)
		}
		if err := rows.Err(); err != nil {
			return Attested{}, fmt.Errorf("timestamps: %w", classify(err))
		}
		rows.Close()
	}
	if ok, err := hasTable(ctx, q, "checkpoint_cosignatures"); err != nil {
		return Attested{}, err
	} else if ok {
		rows, err := q.QueryContext(ctx, `SELECT signature FROM checkpoint_cosignatures WHERE checkpoint_id = ? ORDER BY id`, checkpointID)
		if err != nil {
			return Attested{}, fmt.Errorf("cosignatures: %w", classify(err))
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return Attested{}, fmt.Errorf("cosignatures: %w", classify(err))
			}
			if strings.HasSuffix(line, "\n") && !bytes.Contains(a.Note, []byte(line)) {
				a.Note = append(a.Note, line...)
			}
		}
		if err := rows.Err(); err != nil {
			return Attested{}, fmt.Errorf("cosignatures: %w", classify(err))
		}
	}
	return a, nil
}
