package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	sqlite3 "github.com/mattn/go-sqlite3"
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
	// conn is the connection tx runs on, for execRows.
	conn *sql.Conn

	head       Head
	headLoaded bool
	leafCap    int    // buffer size that fits the leaves seen so far
	broken     error  // a failed insert: the Tx takes no more appends
	appended   uint64 // entries appended through this Tx
}

// Update runs fn in one immediate transaction and commits if fn returns
// nil; otherwise it rolls back and returns fn's error. An append that
// failed part-way (not an invalid entry, which changes nothing) makes it
// roll back even if fn returns nil. This is how an export records entries
// together with its run state, so a crash leaves either both or neither. Writers are serialised: fn must write through
// tx only (calling l.Append, l.SetState, l.Checkpoint or l.Update from fn
// would wait for itself), and reads through l do not see tx's writes.
func (l *Ledger) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if l.readOnly {
		return fmt.Errorf("ledger: update %s: %w", l.path, ErrReadOnly)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A connection of its own, so that appends can hand their INSERTs to
	// the driver directly (Tx.execRows) inside the same transaction.
	conn, err := l.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", classify(err))
	}
	defer conn.Close()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", classify(err))
	}
	defer sqlTx.Rollback()
	tx := &Tx{l: l, ctx: ctx, tx: sqlTx, conn: conn}
	if err := fn(tx); err != nil {
		return cancelled(ctx, err)
	}
	if tx.broken != nil {
		// fn went on after a failed append: the transaction may hold part
		// of that batch, so it must not commit.
		return fmt.Errorf("ledger: commit: an append in this transaction failed: %w", tx.broken)
	}
	if err := sqlTx.Commit(); err != nil {
		return cancelled(ctx, fmt.Errorf("ledger: commit: %w", classify(err)))
	}
	// Back to the pool (of one) before committed, which may checkpoint
	// through it.
	conn.Close()
	l.committed(tx.appended)
	return nil
}

// cancelled adds ctx's end to err when ctx has ended: database/sql rolls
// a transaction back the moment its ctx ends, and what the statement under
// way then reports ("sql: connection is already closed") does not say
// why; the caller (a Ctrl-C: exit status 130) must be able to tell.
func cancelled(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
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
func (l *Ledger) Append(ctx context.Context, entries ...leaf.Entry) ([]leaf.Entry, error) {
	var out []leaf.Entry
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
func (tx *Tx) Append(entries ...leaf.Entry) ([]leaf.Entry, error) {
	if tx.broken != nil {
		return nil, fmt.Errorf("ledger: append: an earlier append in this transaction failed: %w", tx.broken)
	}
	head, err := tx.Head()
	if err != nil {
		return nil, err
	}
	out, details, err := tx.check(head.Size, entries)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := tx.insertEntries(out, details, head.Chain); err != nil {
		tx.broken = err
		return nil, err
	}
	end := Head{Size: head.Size + uint64(len(out)), Chain: out[len(out)-1].Chain}
	if err := tx.moveMessageKeys(head.Size, end.Size); err != nil {
		tx.broken = err
		return nil, err
	}
	tx.head = end
	tx.appended += uint64(len(out))
	return out, nil
}

// check fills the defaults of entries, which are to get sequence numbers
// from start on, and checks every one of them: the format rules, what a
// Supersedes points at, and that Detail is JSON that canonicalizes (the
// one way computing the leaf can fail). Nothing is inserted before all
// of them pass. The rules and the detail of a large batch are checked on
// two goroutines (checkRules), since nothing else runs before the
// inserts start; the error returned is the same as a check in order
// would give: the first failing entry's first failing check. With the
// entries it returns each one's detail in RFC 8785 form, for the leaf
// encoder.
func (tx *Tx) check(start uint64, entries []leaf.Entry) ([]leaf.Entry, [][]byte, error) {
	out := make([]leaf.Entry, len(entries))
	for i, e := range entries {
		if e.Matter == "" {
			e.Matter = tx.l.matter
		}
		if e.At.IsZero() {
			e.At = tx.l.now()
		}
		e.At = e.At.UTC().Truncate(1e6)
		e.Seq = start + uint64(i)
		out[i] = e
	}
	details := make([][]byte, len(out))
	bad, badErr := checkRules(out, details)
	for i := range out {
		e := &out[i]
		if i == bad && badErr.stage == ruleStage {
			return nil, nil, fmt.Errorf("ledger: append seq %d: %w: %w", e.Seq, ErrInvalidEntry, badErr.err)
		}
		if e.Supersedes != nil {
			if err := tx.checkSupersedes(e, e.Seq, start, out[:i]); err != nil {
				return nil, nil, fmt.Errorf("ledger: append seq %d: %w", e.Seq, err)
			}
		}
		if i == bad {
			return nil, nil, fmt.Errorf("ledger: append seq %d: %w: detail: %w", e.Seq, ErrInvalidEntry, badErr.err)
		}
	}
	return out, details, nil
}

// Which check of an entry failed: the rules (leaf.Entry.Validate) come
// before the Supersedes check, the detail after it.
const (
	ruleStage = iota
	detailStage
)

type ruleErr struct {
	stage int
	err   error
}

// parallelCheckMin is the smallest batch checkRules splits in two: below
// it, starting a goroutine costs about what it saves.
const parallelCheckMin = 64

// checkRules sets each entry's format version (as AppendLeaf would, found
// once here since it searches the detail), checks the format rules and
// that the detail canonicalizes, keeping each canonical form in details
// (as long as es), and returns the index of the first entry that fails
// with why (-1 if none does). A large batch is checked in two halves at once; each half stops
// at its first failure, and the first half's failure, if any, comes
// first.
func checkRules(es []leaf.Entry, details [][]byte) (int, ruleErr) {
	if len(es) < parallelCheckMin {
		return checkRange(es, details, 0)
	}
	mid := len(es) / 2
	var bad2 int
	var err2 ruleErr
	done := make(chan struct{})
	go func() {
		defer close(done)
		bad2, err2 = checkRange(es[mid:], details[mid:], mid)
	}()
	bad1, err1 := checkRange(es[:mid], details[:mid], 0)
	<-done
	if bad1 >= 0 {
		return bad1, err1
	}
	return bad2, err2
}

// checkRange is checkRules over es, whose first entry is at index off of
// the batch.
func checkRange(es []leaf.Entry, details [][]byte, off int) (int, ruleErr) {
	for i := range es {
		e := &es[i]
		e.V = e.Version()
		if err := e.Validate(); err != nil {
			return off + i, ruleErr{ruleStage, err}
		}
		if len(e.Detail) > 0 {
			d, err := leaf.CanonicalDetail(e.Detail)
			if err != nil {
				return off + i, ruleErr{detailStage, err}
			}
			details[i] = d
		}
	}
	return -1, ruleErr{}
}

// leafEncoder prepares checked entries for insertion on a second
// goroutine, while the appending goroutine inserts what is ready: for
// each chunk (one INSERT's rows) it computes the leaves, leaf hashes and
// chain links and the INSERT's arguments, then the rows of the message
// index, in key order. Encoding, hashing and argument building (about a
// fifth of an append's CPU) so overlap with SQLite's work, which is all
// that is left to the appending goroutine.
type leafEncoder struct {
	es      []leaf.Entry
	details [][]byte              // each entry's detail in RFC 8785 form (check)
	bounds  []int                 // chunk c is es[bounds[c]:bounds[c+1]]
	chain   hashchain.Hash        // the chain link before the next entry to encode
	args    [][]driver.NamedValue // each chunk's INSERT arguments
	keys    []driver.NamedValue   // message_keys_recent rows (key, seq), in key order
	done    chan int              // the end index of each finished chunk, in order, then len(es) once more for keys; closed at the end
	stop    atomic.Bool           // set when the inserts failed: no more chunks are wanted
	err     error                 // why encoding stopped early; read after done is closed
	cap     int                   // leaf buffer estimate, for the next Append
	ready   int                   // done values received: chunks, then 1 for keys
}

// startLeafEncoder starts preparing es, with their canonical details,
// whose chain starts after chain;
// leafCap is the expected size of a leaf (room for it saves
// reallocation).
func startLeafEncoder(es []leaf.Entry, details [][]byte, chain hashchain.Hash, bounds []int, leafCap int) *leafEncoder {
	n := len(bounds) - 1
	le := &leafEncoder{es: es, details: details, bounds: bounds, chain: chain, args: make([][]driver.NamedValue, n), done: make(chan int, n+1), cap: leafCap}
	go le.run()
	return le
}

func (le *leafEncoder) run() {
	defer close(le.done)
	keys := make([]keyRow, 0, len(le.es))
	for c := range le.args {
		if le.stop.Load() {
			return
		}
		start, end := le.bounds[c], le.bounds[c+1]
		// One buffer holds the chunk's leaves: one allocation instead of
		// one per leaf. Each leaf is capped so nothing appends into the
		// next.
		buf := make([]byte, 0, (end-start)*le.cap)
		args := make([]driver.NamedValue, 0, (end-start)*entriesInsert.width)
		for i := start; i < end; i++ {
			e := &le.es[i]
			b := e.AppendLeafDetail(buf, le.details[i])
			e.Leaf = b[len(buf):len(b):len(b)]
			e.LeafHash = hashchain.LeafHash(e.Leaf)
			e.Chain = hashchain.ChainLink(le.chain, e.LeafHash)
			le.chain = e.Chain
			le.cap = max(le.cap, len(e.Leaf)+len(e.Leaf)/8)
			buf = b
			args = append(args, driver.NamedValue{Value: int64(e.Seq)}, driver.NamedValue{Value: e.Leaf},
				driver.NamedValue{Value: e.LeafHash[:]}, driver.NamedValue{Value: e.Chain[:]}, driver.NamedValue{Value: e.Kind},
				driver.NamedValue{Value: textOrNull(e.ConversationID)}, driver.NamedValue{Value: textOrNull(e.MessageID)},
				driver.NamedValue{Value: textOrNull(e.RunID)})
		}
		le.args[c] = args
		le.done <- end
		// The chunk's message keys while it is inserted, so that only the
		// sort is left after the last one.
		for i := start; i < end; i++ {
			if id := le.es[i].MessageID; id != "" {
				keys = append(keys, keyRow{messageKey(id), int64(le.es[i].Seq)})
			}
		}
	}
	// In key order, each INSERT's rows land on neighbouring pages of
	// message_keys_recent rather than all over it.
	slices.SortFunc(keys, func(a, b keyRow) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq)) })
	le.keys = make([]driver.NamedValue, 0, 2*len(keys))
	for _, k := range keys {
		le.keys = append(le.keys, driver.NamedValue{Value: k.key}, driver.NamedValue{Value: k.seq})
	}
	le.done <- len(le.es)
}

// chunkBounds splits n rows into INSERT chunks: the first of first rows,
// each next one twice the one before, up to most rows; what is left at
// the end, less than most, goes in chunks of falling powers of two (with
// first and most powers of two, every chunk is one). A small first chunk
// lets the inserts start as soon as a few leaves are encoded. Keeping to
// powers of two keeps to a few INSERT texts, which the driver's statement
// cache holds (execRows). Chunks larger than insertParams allows do not
// pay: with the insert trigger SQLite copies every statement's rows into
// a temporary table before inserting them, and 256-row statements cost
// more CPU an entry than 32-row ones (docs/benchmarks.md).
func chunkBounds(n, first, most int) []int {
	b := []int{0}
	end := 0
	for size := first; n-end >= size; size = min(2*size, most) {
		end += size
		b = append(b, end)
	}
	for size := most; end < n; size /= 2 {
		if n-end >= size {
			end += size
			b = append(b, end)
		}
	}
	return b
}

// wait blocks until chunk c is ready (c == len(le.args): the keys).
func (le *leafEncoder) wait(c int) error {
	for le.ready <= c {
		if _, ok := <-le.done; !ok {
			if le.err != nil {
				return le.err
			}
			return errors.New("ledger: append: leaf encoder stopped")
		}
		le.ready++
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
// firstChunk is how many rows the first INSERT of a batch carries.
const firstChunk = 16

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

// sql returns the INSERT of rows rows into r's table, built once.
func (r rowInsert) sql(rows int) string {
	k := stmtKey{r.table, rows}
	if q, ok := insertSQL.Load(k); ok {
		return q.(string)
	}
	row := "(?" + strings.Repeat(",?", r.width-1) + ")"
	var b strings.Builder
	b.WriteString("INSERT OR FAIL INTO " + r.table + " (" + r.columns + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	q, _ := insertSQL.LoadOrStore(k, b.String())
	return q.(string)
}

// insertSQL holds the INSERT texts built so far, by table and row count:
// at most insertParams of them.
var insertSQL sync.Map

// keyRow is a row of message_keys_recent.
type keyRow struct{ key, seq int64 }

type stmtKey struct {
	table string
	rows  int
}

// insertRows inserts rows into r's table in the chunks bounds gives
// (chunkBounds); args(start, end) returns the arguments of rows start to
// end. On failure it returns the index of the first row of the failed
// statement.
func (tx *Tx) insertRows(r rowInsert, bounds []int, args func(start, end int) ([]driver.NamedValue, error)) (int, error) {
	for c := 0; c+1 < len(bounds); c++ {
		start, end := bounds[c], bounds[c+1]
		a, err := args(start, end)
		if err != nil {
			return start, err
		}
		if err := tx.execRows(r.sql(end-start), a); err != nil {
			return start, err
		}
	}
	return bounds[len(bounds)-1], nil
}

// execRows runs an INSERT with args (numbered here, in place) on tx's
// connection. It hands the statement to the driver directly rather than
// through database/sql, which would convert and copy every argument
// again (about 0.4 µs an entry); args are of the types database/sql
// passes on unchanged (int64, []byte, string, nil). It uses Query rather
// than Exec: mattn/go-sqlite3 binds a query's arguments and takes its
// first step in one call into C, where Exec makes a call per argument.
// An INSERT returns no rows: reading them runs it to the end whichever
// way the driver steps. The statement is not prepared here: the driver
// keeps the connection's prepared statements by their text
// (_stmt_cache_size), so each INSERT is compiled once per connection
// rather than once per transaction, as a Tx.Prepare did.
//
// database/sql rolls tx back on its own when tx.ctx is cancelled, under
// the driver connection's lock, which Raw holds too: the INSERT refuses
// to run if the connection is no longer in a transaction, so a
// cancelled append can never autocommit a part of its batch.
func (tx *Tx) execRows(query string, args []driver.NamedValue) error {
	for i := range args {
		args[i].Ordinal = i + 1
	}
	return tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("ledger: append: driver connection is a %T", dc)
		}
		if c.AutoCommit() {
			if err := tx.ctx.Err(); err != nil {
				return err
			}
			return errors.New("ledger: append: the transaction has ended")
		}
		rows, err := c.QueryContext(tx.ctx, query, args)
		if err != nil {
			return err
		}
		for {
			if err := rows.Next(nil); err != nil {
				if err == io.EOF {
					break
				}
				rows.Close()
				return err
			}
		}
		return rows.Close()
	})
}

// insertEntries inserts checked entries, with their canonical details
// (check), whose chain starts after chain, each chunk as soon as the leaf
// encoder has it ready, then their message keys.
func (tx *Tx) insertEntries(es []leaf.Entry, details [][]byte, chain hashchain.Hash) error {
	le := startLeafEncoder(es, details, chain, chunkBounds(len(es), firstChunk, entriesInsert.chunk()), max(tx.leafCap, 512))
	defer func() {
		le.finish()
		tx.leafCap = le.cap
	}()
	c := 0
	i, err := tx.insertRows(entriesInsert, le.bounds, func(int, int) ([]driver.NamedValue, error) {
		if err := le.wait(c); err != nil {
			return nil, err
		}
		c++
		return le.args[c-1], nil
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: %w", es[i].Seq, classify(err))
	}
	if err := le.wait(len(le.args)); err != nil {
		return err
	}
	w := keysInsert.width
	i, err = tx.insertRows(keysInsert, chunkBounds(len(le.keys)/w, keysInsert.chunk(), keysInsert.chunk()), func(start, end int) ([]driver.NamedValue, error) {
		return le.keys[start*w : end*w], nil
	})
	if err != nil {
		return fmt.Errorf("ledger: append seq %d: message key: %w", le.keys[i*w+1].Value, classify(err))
	}
	return nil
}

// checkSupersedes enforces that an entry supersedes an earlier entry of the
// same kind and subject: one already in the ledger, or one of batch, the
// entries of this Append from seq start on (not inserted yet).
func (tx *Tx) checkSupersedes(e *leaf.Entry, seq, start uint64, batch []leaf.Entry) error {
	old := *e.Supersedes
	if old >= seq {
		return fmt.Errorf("%w: supersedes %d is not an earlier entry", ErrInvalidEntry, old)
	}
	var prev leaf.Entry
	if old >= start {
		prev = batch[old-start]
	} else {
		// The leaf, not the lookup columns, says what the entry is of.
		var lb []byte
		var cols Columns
		err := tx.tx.QueryRowContext(tx.ctx, `SELECT leaf, kind, conversation_id, message_id, run_id FROM entries WHERE seq = ?`, int64(old)).Scan(&lb, &cols[0], &cols[1], &cols[2], &cols[3])
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: supersedes %d: no such entry", ErrInvalidEntry, old)
		}
		if err != nil {
			return classify(err)
		}
		if prev, err = leaf.DecodeLeaf(lb); err != nil {
			return fmt.Errorf("ledger: entry seq %d: %w: %w", old, ErrInconsistent, err)
		}
		if err := checkColumns(int64(old), &prev, &cols, len(cols)); err != nil {
			return err
		}
	}
	if prev.Kind != e.Kind || prev.ConversationID != e.ConversationID || prev.MessageID != e.MessageID {
		return fmt.Errorf("%w: supersedes %d, which is a %s of conversation %q message %q, not this %s of conversation %q message %q",
			ErrInvalidEntry, old, prev.Kind, prev.ConversationID, prev.MessageID, e.Kind, e.ConversationID, e.MessageID)
	}
	return nil
}

// textOrNull is s as an argument, NULL when it is empty.
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
