package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
)

// Head is the end of the ledger: how many entries it holds and the chain
// link after the last one (hashchain.ZeroHash when empty).
type Head struct {
	Size  uint64
	Chain hashchain.Hash
}

// Tx is one immediate (write-locked) transaction, handed to the function
// given to Update. Everything done through it — appended entries and run
// state alike — commits together or not at all. A Tx must not be used
// after that function returns.
type Tx struct {
	l   *Ledger
	ctx context.Context
	tx  *sql.Tx

	head       Head
	headLoaded bool
	inserts    map[stmtKey]*sql.Stmt // prepared multi-row INSERTs by table and row count
	leafCap    int                   // buffer size that fits the leaves seen so far
	broken     error                 // a failed insert: the Tx takes no more appends
}

// Update runs fn in one immediate transaction and commits if fn returns
// nil; otherwise it rolls back and returns fn's error. This is how an
// export records entries together with its run state, so a crash leaves
// either both or neither. Writers are serialised: fn must write through
// tx only (calling l.Append, l.SetState, l.Checkpoint or l.Update from fn
// would wait for itself), and reads through l do not see tx's writes.
func (l *Ledger) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if l.readOnly {
		return fmt.Errorf("ledger: update %s: %w", l.path, ErrReadOnly)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sqlTx, err := l.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", classify(err))
	}
	defer sqlTx.Rollback()
	tx := &Tx{l: l, ctx: ctx, tx: sqlTx}
	defer func() {
		for _, s := range tx.inserts {
			s.Close()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", classify(err))
	}
	return nil
}

// Append appends entries in one transaction and returns them with Seq,
// Leaf, LeafHash and Chain set. Either all are appended or none.
func (l *Ledger) Append(ctx context.Context, entries ...Entry) ([]Entry, error) {
	var out []Entry
	err := l.Update(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.Append(entries...)
		return err
	})
	return out, err
}

// Head returns the ledger's current size and chain head.
func (l *Ledger) Head(ctx context.Context) (Head, error) {
	h, err := readHead(ctx, l.rdb)
	if err != nil {
		return Head{}, fmt.Errorf("ledger: head: %w", err)
	}
	return h, nil
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readHead(ctx context.Context, q querier) (Head, error) {
	var seq int64
	var chain []byte
	err := q.QueryRowContext(ctx, `SELECT seq, chain FROM entries ORDER BY seq DESC LIMIT 1`).Scan(&seq, &chain)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	if err != nil {
		return Head{}, classify(err)
	}
	if len(chain) != hashchain.HashSize {
		return Head{}, fmt.Errorf("%w: seq %d: chain is %d bytes", ErrInconsistent, seq, len(chain))
	}
	return Head{Size: uint64(seq) + 1, Chain: hashchain.Hash(chain)}, nil
}

// Head returns the ledger's size and chain head as seen inside tx,
// including entries appended through tx.
func (tx *Tx) Head() (Head, error) {
	if !tx.headLoaded {
		h, err := readHead(tx.ctx, tx.tx)
		if err != nil {
			return Head{}, fmt.Errorf("ledger: head: %w", err)
		}
		tx.head, tx.headLoaded = h, true
	}
	return tx.head, nil
}

// Append appends entries at the end of the ledger: for each it fills the
// defaults (Matter, At), checks the format rules, computes the leaf (RFC
// 8785 bytes of the entry object), its leaf hash and chain link, and
// inserts it with the next sequence number. It returns the entries as
// stored. Every entry is checked before any is inserted, so an invalid
// entry leaves the transaction as it was; after any other error the Tx
// refuses further appends, and the Update function must return an error.
func (tx *Tx) Append(entries ...Entry) ([]Entry, error) {
	if tx.broken != nil {
		return nil, fmt.Errorf("ledger: append: an earlier append in this transaction failed: %w", tx.broken)
	}
	head, err := tx.Head()
	if err != nil {
		return nil, err
	}
	start := head.Size
	out := make([]Entry, len(entries))
	for i, e := range entries {
		seq := head.Size
		if e.Matter == "" {
			e.Matter = tx.l.matter
		}
		if e.At.IsZero() {
			e.At = tx.l.now()
		}
		e.At = e.At.UTC().Truncate(1e6)
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("ledger: append seq %d: %w: %w", seq, ErrInvalidEntry, err)
		}
		if e.Supersedes != nil {
			if err := tx.checkSupersedes(&e, seq, start, out[:i]); err != nil {
				return nil, fmt.Errorf("ledger: append seq %d: %w", seq, err)
			}
		}
		leaf, err := e.encodeLeaf(make([]byte, 0, tx.leafCap))
		if err != nil {
			return nil, fmt.Errorf("ledger: append seq %d: %w: %w", seq, ErrInvalidEntry, err)
		}
		tx.leafCap = max(tx.leafCap, len(leaf)+len(leaf)/8)
		e.Leaf = leaf
		e.LeafHash = hashchain.LeafHash(e.Leaf)
		e.Chain = hashchain.ChainLink(head.Chain, e.LeafHash)
		e.Seq = seq
		head = Head{Size: seq + 1, Chain: e.Chain}
		out[i] = e
	}
	if err := tx.insertEntries(out); err != nil {
		tx.broken = err
		return nil, err
	}
	if every := tx.l.keyMove; start/every != head.Size/every {
		if err := tx.moveMessageKeys(); err != nil {
			tx.broken = err
			return nil, err
		}
	}
	tx.head = head
	return out, nil
}

// insertParams is how many values one multi-row INSERT binds (32 entries
// rows, 128 message key rows): fewer calls through database/sql and cgo
// per row.
const insertParams = 256

// rowInsert is a table's multi-row INSERT: its column list and how many
// columns that is.
type rowInsert struct {
	table, columns string
	width          int
}

var (
	entriesInsert = rowInsert{"entries", "seq, leaf, leaf_hash, chain, kind, conversation_id, message_id, run_id", 8}
	keysInsert    = rowInsert{"message_keys_recent", "key, seq", 2}
)

func (r rowInsert) chunk() int { return insertParams / r.width }

func (r rowInsert) sql(rows int) string {
	row := "(?" + strings.Repeat(",?", r.width-1) + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + r.table + " (" + r.columns + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

type stmtKey struct {
	table string
	rows  int
}

// insertRows inserts count rows into r's table, r.chunk() rows per
// statement; row appends the values of row i to args. On failure it
// returns the index of the first row of the failed statement.
func (tx *Tx) insertRows(r rowInsert, count int, row func(i int, args []any) []any) (int, error) {
	args := make([]any, 0, r.chunk()*r.width)
	for done := 0; done < count; {
		n := min(count-done, r.chunk())
		stmt, err := tx.insertStmt(r, n)
		if err != nil {
			return done, err
		}
		args = args[:0]
		for i := done; i < done+n; i++ {
			args = row(i, args)
		}
		if _, err := stmt.ExecContext(tx.ctx, args...); err != nil {
			return done, err
		}
		done += n
	}
	return count, nil
}

// insertStmt returns the prepared INSERT of rows rows into r's table: the
// full chunk and the shorter last chunk of a batch are prepared once per
// transaction.
func (tx *Tx) insertStmt(r rowInsert, rows int) (*sql.Stmt, error) {
	k := stmtKey{r.table, rows}
	if tx.inserts == nil {
		tx.inserts = map[stmtKey]*sql.Stmt{}
	}
	if s, ok := tx.inserts[k]; ok {
		return s, nil
	}
	s, err := tx.tx.PrepareContext(tx.ctx, r.sql(rows))
	if err != nil {
		return nil, err
	}
	tx.inserts[k] = s
	return s, nil
}

// insertEntries inserts computed entries and their message keys.
func (tx *Tx) insertEntries(es []Entry) error {
	i, err := tx.insertRows(entriesInsert, len(es), func(i int, args []any) []any {
		e := &es[i]
		return append(args, int64(e.Seq), e.Leaf, e.LeafHash[:], e.Chain[:],
			e.Kind, nullString(e.ConversationID), nullString(e.MessageID), nullString(e.RunID))
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: %w", es[i].Seq, classify(err))
	}
	msgs := make([]*Entry, 0, len(es))
	for i := range es {
		if es[i].MessageID != "" {
			msgs = append(msgs, &es[i])
		}
	}
	i, err = tx.insertRows(keysInsert, len(msgs), func(i int, args []any) []any {
		return append(args, messageKey(msgs[i].MessageID), int64(msgs[i].Seq))
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: message key: %w", msgs[i].Seq, classify(err))
	}
	return nil
}

// messageKeyMove is how many entries message_keys_recent gathers before an
// append moves them into message_keys (schema.sql). Small enough that a
// batch's random keys dirty few pages of the recent table; large enough
// that the move, which rewrites most pages of message_keys, is rare and
// those pages are written once for many entries. 16,384 was the fastest
// of 4,096 – 65,536 in BenchmarkAppend (docs/benchmarks.md).
const messageKeyMove = 16384

// moveMessageKeys moves message_keys_recent into message_keys, in key
// order, so each page of message_keys is written once.
func (tx *Tx) moveMessageKeys() error {
	if _, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO message_keys (key, seq) SELECT key, seq FROM message_keys_recent ORDER BY key, seq`); err != nil {
		return fmt.Errorf("ledger: append: move message keys: %w", classify(err))
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM message_keys_recent`); err != nil {
		return fmt.Errorf("ledger: append: move message keys: %w", classify(err))
	}
	return nil
}

// messageKey is the key of a message id in message_keys: the first 8
// bytes of SHA-256(id) as a big-endian signed integer.
func messageKey(id string) int64 {
	h := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// checkSupersedes enforces that an entry supersedes an earlier entry of the
// same kind and subject: one already in the ledger, or one of batch, the
// entries of this Append from seq start on (not inserted yet).
func (tx *Tx) checkSupersedes(e *Entry, seq, start uint64, batch []Entry) error {
	old := *e.Supersedes
	if old >= seq {
		return fmt.Errorf("%w: supersedes %d is not an earlier entry", ErrInvalidEntry, old)
	}
	var kind string
	var conv, msg sql.NullString
	if old >= start {
		b := batch[old-start]
		kind, conv.String, msg.String = b.Kind, b.ConversationID, b.MessageID
	} else {
		err := tx.tx.QueryRowContext(tx.ctx, `SELECT kind, conversation_id, message_id FROM entries WHERE seq = ?`, int64(old)).Scan(&kind, &conv, &msg)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: supersedes %d: no such entry", ErrInvalidEntry, old)
		}
		if err != nil {
			return classify(err)
		}
	}
	if kind != e.Kind || conv.String != e.ConversationID || msg.String != e.MessageID {
		return fmt.Errorf("%w: supersedes %d, which is a %s of conversation %q message %q, not this %s of conversation %q message %q",
			ErrInvalidEntry, old, kind, conv.String, msg.String, e.Kind, e.ConversationID, e.MessageID)
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
