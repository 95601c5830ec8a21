package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	custody "github.com/custodyhq/custody"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/shellarg"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// ApplicationID is stored in PRAGMA application_id (bytes 68-71 of the
// SQLite header) so a custody ledger can be told from any other SQLite file
// before anything is written to it. It spells "CUST".
const ApplicationID = 0x43555354

// State keys custody sets when it creates a ledger. SetState refuses them.
const (
	StateLedgerID    = "ledger_id"
	StateOrigin      = "origin"
	StateMatter      = "matter"
	StateCreatedAt   = "created_at"
	StateVerifierKey = "verifier_key"
)

var reservedState = map[string]bool{
	StateLedgerID: true, StateOrigin: true, StateMatter: true,
	StateCreatedAt: true, StateVerifierKey: true,
}

// pragmas are applied per connection through the DSN, so every pooled
// connection gets them. _txlock=immediate makes every write transaction
// take the write lock at BEGIN, so two writers never deadlock on upgrade;
// the reader pool uses deferred transactions instead, so a long verify
// never blocks an export. The page cache is set per pool (cacheFor).
// Each connection keeps its 32 most recent prepared statements: a lookup
// by message id searches eight tables (message_index.go), and preparing
// that query took longer than running it.
const pragmas = "_journal_mode=WAL&_busy_timeout=5000&_synchronous=FULL&_foreign_keys=on&_recursive_triggers=on&_stmt_cache_size=32"

// cacheFor is the _cache_size of a pool's connections (negative: KiB). The
// writer's 64 MiB keeps the message index (random keys, message_keys) in
// memory while appending. Readers get 8 MiB: a diff runs one per file
// worker, verify streams, lookups touch few pages, and the operating
// system caches the file anyway — 64 MiB each made a diff's memory grow
// with its concurrency.
func cacheFor(txlock string) string {
	if txlock == "immediate" {
		return "&_cache_size=-65536"
	}
	return "&_cache_size=-8192"
}

// driverName is mattn/go-sqlite3 with a connect hook for the one pragma
// the DSN cannot carry; writerDriverName the same for the writer's
// connection, which also runs without the file's triggers and with the
// append-only authorizer instead (triggers.go).
const (
	driverName       = "sqlite3_custody"
	writerDriverName = "sqlite3_custody_writer"
)

var registerDriver = sync.OnceFunc(func() {
	// custody_triggers (triggers.go), custody_columns_fp and
	// custody_index_sum (lookupfp.go) on every connection opened after
	// this: before the first one.
	registered := errors.Join(registerTriggersFunc(), registerLookupFuncs())
	connect := func(c *sqlite3.SQLiteConn) error {
		if registered != nil {
			return registered
		}
		// The WAL is copied into the database by the background
		// checkpointer, which also bounds it (walcheckpoint.go).
		// SQLite's automatic checkpoint, at twice that bound, is only
		// a safety net. Statement journals (a multi-row INSERT keeps
		// one, so it can be undone alone) stay in memory instead of
		// spilling to temporary files past 64 KiB.
		pageSize, err := connPageSize(c)
		if err != nil {
			return err
		}
		_, err = c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d; PRAGMA temp_store = MEMORY", 2*walCeilingPages(pageSize)), nil)
		return err
	}
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: connect})
	sql.Register(writerDriverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if err := connect(c); err != nil {
			return err
		}
		return guardWriter(c)
	}})
})

// connPageSize reads PRAGMA page_size on a driver connection.
func connPageSize(c *sqlite3.SQLiteConn) (int, error) {
	rows, err := c.Query("PRAGMA page_size", nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return 0, err
	}
	n, ok := v[0].(int64)
	if !ok {
		return 0, fmt.Errorf("page_size is %T", v[0])
	}
	return int(n), nil
}

// pageSize is the page size of new ledgers. Larger pages take fewer WAL
// frames (two write calls and a checksum each) and checkpoint copies for
// the same entries, and pack the ~1 KiB entry rows as well: appends
// measured 18 – 25 % less CPU per entry with 16 KiB pages than with 4 KiB
// at 200,000 and 1,000,000 entries, 32 KiB no better (docs/benchmarks.md).
// A WAL database's page size is fixed when the file is first written, so
// older ledgers keep theirs.
const pageSize = 16384

// Options configures a Ledger. The zero value is ready to use.
type Options struct {
	// Now is the clock for entry times, checkpoint and run timestamps.
	// Tests inject a fixed clock; nil means time.Now.
	Now func() time.Time
	// ReadOnly opens an existing ledger for reading only, even one custody
	// could write (verify, log, prove): no migration, no checkpointer,
	// writes fail with ErrReadOnly, and the file is opened read-only. How
	// SQLite is told to read it is Open's rule (immutable only when nobody
	// can write the ledger, else mode=ro with SQLite's WAL locks).
	ReadOnly bool
	// AfterCheckpoint, if set, is called after a new checkpoint was
	// stored (not when Checkpoint returns the latest one unchanged),
	// outside the write transaction: the matter asks timestamp
	// authorities there, and a slow one must not hold the ledger.
	AfterCheckpoint func(ctx context.Context, cp StoredCheckpoint)
	// OnLeafHashes, if set, is told how many leaf hashes each read of
	// them for proofs took from the file (LeafHashes, and Prove,
	// ProveWith and ProveIn when they read any). For tests: proving many
	// entries over leaf hashes read once must stay one read.
	OnLeafHashes func(n int)
}

// Ledger is an open custody ledger. It is safe for concurrent use; writes
// are serialised (one immediate transaction at a time).
type Ledger struct {
	path string
	now  func() time.Time

	wdb *sql.DB // one connection, BEGIN IMMEDIATE: Update, Append, Checkpoint
	rdb *sql.DB // deferred transactions: reads, snapshots, Prove

	mu        sync.Mutex // serialises writers in this process
	readOnly  bool       // opened read-only: Update refuses
	after     func(context.Context, StoredCheckpoint)
	keyMove   uint64        // messageKeyMove; tests make it small
	keyFanout uint64        // messageKeyFanout; tests make it small
	keys      *messageIndex // the message index's tables, by schema version

	onLeafHashes func(n int) // Options.OnLeafHashes

	ckpt      *walCheckpointer // nil when read-only
	ckptEvery uint64           // walCkptEntries; tests make it small
	sinceCkpt uint64           // entries committed since the last request; under mu

	id          string
	origin      string
	matter      string
	verifierKey string
}

// Create makes a new ledger at path for the named matter: it creates the
// file (refusing to replace anything already there, ErrExists), applies the
// schema in one transaction, gives the ledger a fresh random id and origin
// ("custody/<id>"), and generates its Ed25519 checkpoint key. The verifier
// key is stored in the ledger; the signer key is returned to the caller,
// who must keep it (custody init writes it beside the ledger, mode 0600).
func Create(ctx context.Context, path, matter string, opts Options) (l *Ledger, signerKey string, err error) {
	if strings.TrimSpace(matter) == "" {
		return nil, "", fmt.Errorf("ledger: create %s: %w: matter name is empty", path, ErrInvalidEntry)
	}
	if err := leaf.CheckText(matter); err != nil {
		return nil, "", fmt.Errorf("ledger: create %s: %w: matter: %w", path, ErrInvalidEntry, err)
	}
	// O_EXCL makes "refuse to overwrite" atomic; SQLite then treats the
	// empty file as a new database.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("ledger: create %s: %w", path, ErrExists)
		}
		return nil, "", fmt.Errorf("ledger: create: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("ledger: create: %w", err)
	}
	defer func() {
		if err != nil {
			if l != nil {
				l.Close()
				l = nil
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				os.Remove(p)
			}
		}
	}()

	if err := initFile(ctx, path); err != nil {
		return nil, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	l, err = openPools(ctx, path, opts)
	if err != nil {
		return nil, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	if err := l.checkWAL(ctx); err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	id, err := newUUID()
	if err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	origin := "custody/" + id
	signerKey, verifierKey, err := hashchain.GenerateKey(origin)
	if err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	state := map[string]string{
		StateLedgerID:    id,
		StateOrigin:      origin,
		StateMatter:      matter,
		StateCreatedAt:   leaf.FormatTime(l.now()),
		StateVerifierKey: verifierKey,
	}
	if err := applySchema(ctx, l.wdb, state); err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	if err := l.ensureAttestTables(ctx); err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	if err := l.loadInfo(ctx); err != nil {
		return l, "", fmt.Errorf("ledger: create %s: %w", path, err)
	}
	return l, signerKey, nil
}

// initFile gives the new, empty file at path its page size and puts it in
// WAL mode, on a connection of its own: once in WAL mode the page size
// can no longer change, and every pooled connection asks for WAL.
func initFile(ctx context.Context, path string) error {
	registerDriver()
	db, err := sql.Open(driverName, "file:"+escapePath(path)+"?mode=rw")
	if err != nil {
		return err
	}
	defer db.Close()
	// PRAGMA takes no bound parameters; the value is a constant.
	_, err = db.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL", pageSize))
	if err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	return db.Close()
}

// applySchema runs schema.sql, sets the application id and schema version
// and writes the initial state, all in one transaction.
func applySchema(ctx context.Context, db *sql.DB, state map[string]string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, custody.Schema); err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	// PRAGMA takes no bound parameters; both values are constants.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", ApplicationID, custody.SchemaVersion)); err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	for k, v := range state {
		if _, err := tx.ExecContext(ctx, `INSERT INTO state (key, value) VALUES (?, ?)`, k, v); err != nil {
			return fmt.Errorf("apply schema: state %s: %w", k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply schema: %w", err)
	}
	return nil
}

// Open opens an existing ledger. It never creates one: a missing file is
// ErrNotExist. Before SQLite touches the file its header is checked, so a
// file that is not a custody ledger (ErrNotLedger) or comes from a newer
// schema (ErrNewerSchema) is refused without a single byte being written.
//
// A ledger that cannot be written (a read-only copy handed to an auditor,
// read-only media) is opened read-only: reads, snapshots and Prove work,
// writes return ErrReadOnly.
//
// How a read-only open reads (Options.ReadOnly, or a ledger custody may
// not write) is chosen so that a reader never sees a torn state:
//
//   - Nobody can write the ledger — a read-only file system, or no write
//     permission bit on the file or its directory (chmod a-w; custody
//     then opens it read-only even as root): SQLite opens it immutable
//     (immutable=1), with no locks and no -shm, and nothing at all is
//     created beside it. A -wal file with content beside such a ledger
//     holds changes SQLite could not recover read-only: ErrReadOnly.
//   - Someone could write it: mode=ro with SQLite's ordinary WAL locks. A
//     reader never blocks a writer nor waits for one, and reads the
//     snapshot of the moment its transaction began even while an export
//     appends and checkpoints. The cost: when no -wal file exists, SQLite
//     creates an empty -wal and its -shm index beside the ledger (and
//     leaves them; the next writer uses them). The ledger file itself is
//     never written.
//   - This process may not write beside the ledger but another user might,
//     and there is no -wal yet: SQLite could not create the -shm it needs,
//     so the ledger is opened immutable; a writer that starts meanwhile
//     can make reads fail (read again).
func Open(ctx context.Context, path string, opts Options) (*Ledger, error) {
	wal, walErr := os.Stat(path + "-wal")
	hasWAL := walErr == nil
	pending := hasWAL && wal.Size() > 0
	if err := checkHeader(path, pending); err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	openFn := openPools
	switch {
	case isUnwritable(path) && pending:
		return nil, fmt.Errorf("ledger: open %s: %w, and its -wal file holds changes not yet in it: copy both to a writable place", path, ErrReadOnly)
	case isUnwritable(path):
		openFn = openReadOnly
	case !isWritable(path) && !hasWAL:
		openFn = openReadOnly
	case !isWritable(path), opts.ReadOnly:
		openFn = openReader
	}
	failed := func(err error) error {
		err = fmt.Errorf("ledger: open %s: %w", path, err)
		if hasWAL && !pending && !isWritable(path) {
			err = staleWAL(path, err)
		}
		return onShare(path, err)
	}
	l, err := openFn(ctx, path, opts)
	if err != nil {
		return nil, failed(err)
	}
	if err := l.checkOpen(ctx); err != nil {
		l.Close()
		return nil, failed(err)
	}
	return l, nil
}

// onShare adds what to do to err, a failed open, when the ledger is on a
// network file system: SQLite's WAL reads take locks and map a shared
// index (-shm) that such file systems may not provide (sqlite.org/wal.html),
// while an immutable read, of a copy nobody may write, needs neither.
func onShare(path string, err error) error {
	kind, remote := fsinfo.Remote(path)
	if !remote {
		return err
	}
	return &hintError{err: err, hint: fmt.Sprintf("the ledger is on a network file system (%s), where SQLite's locks and shared index may not work: "+
		"write-protect the copy (chmod -R a-w %s), which custody then reads with neither, or copy the matter to a local disk", kind, shellarg.Quote(filepath.Dir(path)))}
}

// staleWAL adds what to do to err, a failed open of a ledger this process
// may not write beside, when an empty -wal is there without its -shm (left
// by a copy, or a writer that stopped): SQLite then reads with WAL locks
// and must create the -shm, which it cannot.
func staleWAL(path string, err error) error {
	if _, serr := os.Lstat(path + "-shm"); !errors.Is(serr, fs.ErrNotExist) {
		return err
	}
	base, dir := filepath.Base(path), filepath.Dir(path)
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs // not ".": the hint is a command to run
	}
	return &hintError{err: err, hint: fmt.Sprintf("SQLite must create %s-shm beside the empty %s-wal to read the ledger, and this user may not write in %s: "+
		"write-protect the copy (chmod -R a-w %s), which custody then opens immutable, or remove the empty %s-wal", base, base, dir, shellarg.Quote(dir), base)}
}

// hintError is an error with a hint for the user (shown by the command
// line as "custody: hint: …").
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

func (l *Ledger) checkOpen(ctx context.Context) error {
	// An immutable (read-only) connection reports journal_mode "delete";
	// checkHeader has seen the WAL marks in the file itself.
	if !l.readOnly {
		if err := l.checkWAL(ctx); err != nil {
			return err
		}
	}
	var appID, version int64
	if err := l.rdb.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return classify(err)
	}
	if err := l.rdb.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return classify(err)
	}
	if appID != ApplicationID {
		return fmt.Errorf("%w: application id %#x", ErrNotLedger, appID)
	}
	if version > custody.SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this custody knows up to %d; use a newer custody", ErrNewerSchema, version, custody.SchemaVersion)
	}
	if version < 1 {
		return fmt.Errorf("%w: schema version %d", ErrNotLedger, version)
	}
	// Ledgers made by development builds before the message index moved
	// to message_keys have schema version 1 too; lookups by message would
	// fail on them.
	var tables int
	if err := l.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('message_keys', 'message_keys_recent')`).Scan(&tables); err != nil {
		return classify(err)
	}
	if tables != 2 {
		return fmt.Errorf("%w: no message_keys table: made by a pre-release custody; create it again", ErrNotLedger)
	}
	if version < custody.SchemaVersion {
		if l.readOnly {
			// Read as it is: custody may not write it. Version 2 has all
			// eight levels already.
			if version < 2 {
				l.keys = messageIndexV1
			}
		} else if err := l.migrate(ctx); err != nil {
			return err
		}
	}
	if !l.readOnly {
		if err := l.ensureAttestTables(ctx); err != nil {
			return err
		}
	}
	return l.loadInfo(ctx)
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkHeader reads the 100-byte SQLite header directly. Opening a file
// with journal_mode=WAL would otherwise convert a rollback-journal
// database, or initialise an empty file, before custody could refuse it.
// walPending says the ledger has a -wal file with content, which may hold
// the header fields the main file does not have yet.
func checkHeader(path string, walPending bool) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w (create one with custody init)", ErrNotExist)
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: is a directory", ErrNotLedger)
	}
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: file is too short (%d bytes) to be a SQLite database", ErrNotLedger, fi.Size())
		}
		return err
	}
	if !bytes.Equal(h[:16], sqliteMagic) {
		return fmt.Errorf("%w: not a SQLite database", ErrNotLedger)
	}
	if h[18] != 2 || h[19] != 2 {
		return fmt.Errorf("%w: not in WAL mode", ErrNotLedger)
	}
	// user_version and application_id as last checkpointed into the main
	// file; checkOpen reads them again through SQLite, which also sees
	// the WAL.
	version := binary.BigEndian.Uint32(h[60:64])
	appID := binary.BigEndian.Uint32(h[68:72])
	if appID == 0 && version == 0 && walPending {
		// A new ledger whose first transaction is still only in its -wal
		// (its writer has not checkpointed yet, e.g. an export running on
		// a ledger just made): checkOpen reads both through SQLite.
		return nil
	}
	if appID != ApplicationID {
		return fmt.Errorf("%w: application id %#x", ErrNotLedger, appID)
	}
	if version > custody.SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this custody knows up to %d; use a newer custody", ErrNewerSchema, version, custody.SchemaVersion)
	}
	return nil
}

// dsn builds a SQLite URI for path. mode=rw never creates a file; Create
// makes the file itself first.
func dsn(path, txlock string) string {
	return "file:" + escapePath(path) + "?mode=rw&" + pragmas + cacheFor(txlock) + writerMutex(txlock) + "&_txlock=" + txlock
}

// escapePath makes path the path part of a SQLite URI.
func escapePath(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	p := r.Replace(path)
	if strings.HasPrefix(p, "//") {
		p = "/" + strings.TrimLeft(p, "/")
	}
	return p
}

// writerMutex opens the writer's connection without SQLite's
// per-connection mutex, which every call into SQLite locks and unlocks
// (~4% of an append). That is safe because database/sql uses a connection
// from one goroutine at a time and every statement this package prepares
// on the writer is closed by it (Update closes its INSERTs), never left
// to mattn/go-sqlite3's finalizer, which could run on another goroutine.
// Readers keep the mutex: they gain little from dropping it.
func writerMutex(txlock string) string {
	if txlock == "immediate" {
		return "&_mutex=no"
	}
	return ""
}

func openPools(ctx context.Context, path string, opts Options) (*Ledger, error) {
	registerDriver()
	wdb, err := sql.Open(writerDriverName, dsn(path, "immediate"))
	if err != nil {
		return nil, err
	}
	// One writer connection: SQLite allows one writer anyway, and a single
	// connection keeps its prepared statements and page cache warm.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	// Readers cannot write at all (query_only): snapshots, Prove and the
	// lookups are guaranteed to leave the file as it was.
	rdb, err := sql.Open(driverName, dsn(path, "deferred")+"&_query_only=true")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	ckpt, err := startWALCheckpointer(ctx, path)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Ledger{path: path, now: now, keyMove: messageKeyMove, keyFanout: messageKeyFanout, keys: messageIndexV2,
		wdb: wdb, rdb: rdb, ckpt: ckpt, ckptEvery: walCkptEntries, after: opts.AfterCheckpoint, onLeafHashes: opts.OnLeafHashes}, nil
}

// isWritable reports whether custody may write the ledger at path (and
// its -wal and -shm files beside it); isUnwritable whether nobody can (see
// Open). Variables so tests can pretend.
var (
	isWritable   = writable
	isUnwritable = unwritable
)

// Writable reports whether Open would open the ledger at path for
// writing: this process may write it and create files beside it, and it
// is not a ledger nobody may write (see Open). A matter checks it before
// taking its writer lock, so that a read-only copy is never written to.
func Writable(path string) bool { return isWritable(path) && !isUnwritable(path) }

// openReadOnly opens a ledger nobody writes (see Open): one immutable,
// query-only pool serves reads and stands in for the writer, whose use
// Update refuses. immutable=1 tells SQLite that nothing changes the file,
// so it takes no locks and needs no -shm, and creates nothing.
func openReadOnly(_ context.Context, path string, opts Options) (*Ledger, error) {
	return openQueryOnly(path, "?mode=ro&immutable=1&", opts)
}

func openQueryOnly(path, mode string, opts Options) (*Ledger, error) {
	registerDriver()
	d := strings.Replace(dsn(path, "deferred"), "?mode=rw&", mode, 1) + "&_query_only=true"
	db, err := sql.Open(driverName, d)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Ledger{path: path, now: now, keyMove: messageKeyMove, keyFanout: messageKeyFanout, keys: messageIndexV2,
		wdb: db, rdb: db, readOnly: true, onLeafHashes: opts.OnLeafHashes}, nil
}

// openReader opens a ledger someone could write for reading only: like
// openReadOnly, but mode=ro and not immutable, so that SQLite reads the
// WAL and takes the locks a reader takes against a writer; a transaction
// sees one consistent snapshot whatever a writer does meanwhile.
func openReader(_ context.Context, path string, opts Options) (*Ledger, error) {
	return openQueryOnly(path, "?mode=ro&", opts)
}

// checkWAL reads back journal_mode on both pools: the DSN asked for WAL, and
// the crash-safety argument of the design depends on it.
func (l *Ledger) checkWAL(ctx context.Context) error {
	for _, db := range []*sql.DB{l.wdb, l.rdb} {
		var mode string
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			return classify(err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("%w: journal_mode is %q, want wal", ErrNotLedger, mode)
		}
	}
	return nil
}

func (l *Ledger) loadInfo(ctx context.Context) error {
	want := map[string]*string{
		StateLedgerID:    &l.id,
		StateOrigin:      &l.origin,
		StateMatter:      &l.matter,
		StateVerifierKey: &l.verifierKey,
	}
	for k, dst := range want {
		err := l.rdb.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, k).Scan(dst)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: state %q is missing", ErrNotLedger, k)
		}
		if err != nil {
			return classify(err)
		}
	}
	return nil
}

// classify maps SQLite's "not a database" and corruption errors to
// ErrNotLedger and ErrCorrupt so callers can tell them from I/O problems.
func classify(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrNotADB:
			return fmt.Errorf("%w: %w", ErrNotLedger, err)
		case sqlite3.ErrCorrupt:
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
	}
	return err
}

// Close stops the background checkpointer and closes the ledger's
// database connections; closing the last connection copies what is left
// of the WAL into the database file. It reports a background checkpoint
// that failed (no commit is lost by one: the WAL holds it).
func (l *Ledger) Close() error {
	if l.readOnly {
		return l.rdb.Close()
	}
	l.mu.Lock() // let an Update in progress finish first
	defer l.mu.Unlock()
	return errors.Join(l.ckpt.stop(), l.wdb.Close(), l.rdb.Close())
}

// ReadOnly reports whether the ledger was opened read-only (see Open).
func (l *Ledger) ReadOnly() bool { return l.readOnly }

// Path returns the ledger file's path.
func (l *Ledger) Path() string { return l.path }

// ID returns the ledger's random id (a UUID), fixed at creation.
func (l *Ledger) ID() string { return l.id }

// Origin returns the checkpoint origin, "custody/<id>", which is also the
// name of the ledger's signing key.
func (l *Ledger) Origin() string { return l.origin }

// Matter returns the matter name given at creation.
func (l *Ledger) Matter() string { return l.matter }

// VerifierKey returns the verifier key stored at creation. Verify does not
// trust it (an attacker who can rewrite the ledger can rewrite it too);
// auditors bring their own copy. custody uses it to catch a wrong signer
// key before storing a checkpoint.
func (l *Ledger) VerifierKey() string { return l.verifierKey }

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
