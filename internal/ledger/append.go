package ledger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

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
	appended   uint64                // entries appended through this Tx
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
	if tx.broken != nil {
		// fn went on after a failed append: the transaction may hold part
		// of that batch, so it must not commit.
		return fmt.Errorf("ledger: commit: an append in this transaction failed: %w", tx.broken)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", classify(err))
	}
	l.committed(tx.appended)
	return nil
}

// committed counts appended entries toward the next background
// checkpoint and asks for one, without waiting, when enough have been
// committed; if the WAL has grown past its bound, it copies the rest
// itself (walCheckpointer.afterCommit). Called with l.mu held.
func (l *Ledger) committed(entries uint64) {
	l.sinceCkpt += entries
	if l.sinceCkpt >= l.ckptEvery {
		l.sinceCkpt = 0
		l.ckpt.request()
	}
	l.ckpt.afterCommit(l.wdb)
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
	out, err := tx.check(head.Size, entries)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := tx.insertEntries(out, head.Chain); err != nil {
		tx.broken = err
		return nil, err
	}
	end := Head{Size: head.Size + uint64(len(out)), Chain: out[len(out)-1].Chain}
	if every := tx.l.keyMove; head.Size/every != end.Size/every {
		if err := tx.moveMessageKeys(); err != nil {
			tx.broken = err
			return nil, err
		}
	}
	tx.head = end
	tx.appended += uint64(len(out))
	return out, nil
}

// check fills the defaults of entries, which are to get sequence numbers
// from start on, and checks every one of them: the format rules, what a
// Supersedes points at, and that Detail is JSON that canonicalizes (the
// one way computing the leaf can fail). Nothing is inserted before all
// of them pass.
func (tx *Tx) check(start uint64, entries []Entry) ([]Entry, error) {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		seq := start + uint64(i)
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
		if len(e.Detail) > 0 {
			if _, err := canonicalDetail(e.Detail); err != nil {
				return nil, fmt.Errorf("ledger: append seq %d: %w: detail: %w", seq, ErrInvalidEntry, err)
			}
		}
		e.Seq = seq
		out[i] = e
	}
	return out, nil
}

// leafEncoder computes the leaves and leaf hashes of checked entries on
// a second goroutine, one INSERT's worth (a chunk) at a time, while the
// appending goroutine inserts the chunks before: encoding and hashing
// (about a sixth of an append's CPU) overlap with SQLite's work.
type leafEncoder struct {
	es    []Entry
	chunk int
	done  chan int    // the end index of each finished chunk, in order; closed at the end
	stop  atomic.Bool // set when the inserts failed: no more chunks are wanted
	err   error       // why encoding stopped early; read after done is closed
	cap   int         // leaf buffer estimate, for the next Append
	upTo  int         // entries known to be encoded
}

// startLeafEncoder starts encoding es; leafCap is the expected size of a
// leaf (room for it saves reallocation).
func startLeafEncoder(es []Entry, chunk, leafCap int) *leafEncoder {
	le := &leafEncoder{es: es, chunk: chunk, done: make(chan int, (len(es)+chunk-1)/chunk), cap: leafCap}
	go le.run()
	return le
}

func (le *leafEncoder) run() {
	defer close(le.done)
	for c := 0; c < len(le.es); c += le.chunk {
		if le.stop.Load() {
			return
		}
		end := min(c+le.chunk, len(le.es))
		// One buffer holds the chunk's leaves: one allocation instead of
		// one per leaf. Each leaf is capped so nothing appends into the
		// next.
		buf := make([]byte, 0, (end-c)*le.cap)
		for i := c; i < end; i++ {
			e := &le.es[i]
			b, err := e.encodeLeaf(buf)
			if err != nil { // check ran canonicalDetail already: not expected
				le.err = fmt.Errorf("ledger: append seq %d: %w: %w", e.Seq, ErrInvalidEntry, err)
				return
			}
			e.Leaf = b[len(buf):len(b):len(b)]
			e.LeafHash = hashchain.LeafHash(e.Leaf)
			le.cap = max(le.cap, len(e.Leaf)+len(e.Leaf)/8)
			buf = b
		}
		le.done <- end
	}
}

// wait blocks until the entries before end are encoded.
func (le *leafEncoder) wait(end int) error {
	for le.upTo < end {
		n, ok := <-le.done
		if !ok {
			if le.err != nil {
				return le.err
			}
			return errors.New("ledger: append: leaf encoder stopped")
		}
		le.upTo = n
	}
	return nil
}

// finish stops the encoder if it is still running and waits for it to
// end, so nothing writes to the entries afterwards.
func (le *leafEncoder) finish() {
	le.stop.Store(true)
	for range le.done {
	}
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
	b.WriteString("INSERT OR FAIL INTO " + r.table + " (" + r.columns + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// keyRow is a row of message_keys_recent.
type keyRow struct{ key, seq int64 }

type stmtKey struct {
	table string
	rows  int
}

// insertRows inserts count rows into r's table, r.chunk() rows per
// statement. Before each statement it calls ready with the index after
// the statement's last row (nil: no waiting); row appends the values of
// row i to args. On failure it returns the index of the first row of the
// failed statement.
func (tx *Tx) insertRows(r rowInsert, count int, ready func(end int) error, row func(i int, args []any) []any) (int, error) {
	args := make([]any, 0, r.chunk()*r.width)
	for done := 0; done < count; {
		n := min(count-done, r.chunk())
		if ready != nil {
			if err := ready(done + n); err != nil {
				return done, err
			}
		}
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

// insertEntries inserts checked entries, whose chain starts after chain:
// first their message keys, which need no leaf, while the leaf encoder
// gets ahead, then the entries themselves, each chunk as soon as its
// leaves are ready, with its chain links.
func (tx *Tx) insertEntries(es []Entry, chain hashchain.Hash) error {
	le := startLeafEncoder(es, entriesInsert.chunk(), max(tx.leafCap, 512))
	defer func() {
		le.finish()
		tx.leafCap = le.cap
	}()
	// In key order, each INSERT's rows land on neighbouring pages of
	// message_keys_recent rather than all over it.
	keys := make([]keyRow, 0, len(es))
	for i := range es {
		if id := es[i].MessageID; id != "" {
			keys = append(keys, keyRow{messageKey(id), int64(es[i].Seq)})
		}
	}
	slices.SortFunc(keys, func(a, b keyRow) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq)) })
	i, err := tx.insertRows(keysInsert, len(keys), nil, func(i int, args []any) []any {
		return append(args, keys[i].key, keys[i].seq)
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: message key: %w", keys[i].seq, classify(err))
	}
	linked := 0
	i, err = tx.insertRows(entriesInsert, len(es), func(end int) error {
		if err := le.wait(end); err != nil {
			return err
		}
		for ; linked < end; linked++ {
			e := &es[linked]
			e.Chain = hashchain.ChainLink(chain, e.LeafHash)
			chain = e.Chain
		}
		return nil
	}, func(i int, args []any) []any {
		e := &es[i]
		return append(args, int64(e.Seq), e.Leaf, e.LeafHash[:], e.Chain[:],
			e.Kind, nullString(e.ConversationID), nullString(e.MessageID), nullString(e.RunID))
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: %w", es[i].Seq, classify(err))
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
