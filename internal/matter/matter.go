package matter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/shellarg"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/witness"
)

// Errors callers match with errors.Is. Commands report them as usage
// errors: each is fixed by a different flag or file, not by a retry.
var (
	// ErrEvidenceElsewhere: a location was given for writing that is not
	// the evidence store the ledger recorded.
	ErrEvidenceElsewhere = errors.New("not the ledger's evidence store")
	// ErrEvidenceAmbiguous: a writer found both the absolute folder an
	// older custody recorded (outside the matter) and the folder of the
	// same name beside the ledger; --evidence must say which.
	ErrEvidenceAmbiguous = errors.New("two evidence stores could be this ledger's")
	// ErrWrongKey: a signer key where a verifier key belongs, or the
	// reverse.
	ErrWrongKey = errors.New("wrong kind of key")
	// ErrExists: Create found a ledger or key file already there; it
	// never replaces one.
	ErrExists = errors.New("already exists")
	// ErrReadOnly: the matter was opened read-only and the call would
	// need to write (or sign).
	ErrReadOnly = errors.New("matter is open read-only")
	// ErrNotWritable: a matter was opened for writing whose ledger cannot
	// be written here (ledger.Writable): a read-only copy, read-only media.
	ErrNotWritable = errors.New("the ledger cannot be written here")
	// ErrNotConfigured: a timestamp authority or witness to remove is
	// not one the matter names (CheckRemoval, CheckpointRemoving); the
	// error names those it does.
	ErrNotConfigured = errors.New("not one the matter names")
	// ErrAmbiguous: a URL to remove is given as custody shows it
	// (redact.URL) and so names more than one the matter has, which
	// differ only in what is redacted.
	ErrAmbiguous = errors.New("names more than one the matter has")
)

// StateEvidence is the ledger state key that records the matter's evidence
// store, in its canonical form (evidence.Registry.Normalize).
const StateEvidence = "evidence_url"

// StateKeysWritten is set by init once both key files are written, in
// the ledger before it is put in place (the commit point): a ledger with
// it is a finished matter, whatever else it holds. Its value is when.
const StateKeysWritten = "keys_written"

// Options say which matter to open and how.
type Options struct {
	// Ledger is the path of the ledger database.
	Ledger string
	// Evidence is the evidence store's location; empty means the one the
	// ledger recorded, else evidence/ beside the ledger.
	Evidence string
	// EvidenceOptions are passed to the store's backend.
	EvidenceOptions evidence.Options
	// Backends opens evidence locations by scheme; backends.New() when
	// nil. Commands pass the registry whose flags they declared.
	Backends *evidence.Registry
	// SignerKey is the signer key file; empty means SignerKeyPath.
	SignerKey string
	// VerifierKey is the verifier key, or a file holding it; empty means
	// VerifierKeyPath if that file exists.
	VerifierKey string
	// ReadOnly opens nothing for writing and records nothing (see the
	// package documentation).
	ReadOnly bool
	// Now is the ledger's clock; time.Now when nil.
	Now func() time.Time
	// Command names the writer in the lock file ("custody export"), so a
	// second writer can say who holds the matter.
	Command string
	// TSA asks timestamp authorities; nil means a default tsa.Client.
	TSA *tsa.Client
	// Witness asks witnesses to cosign; nil means a default witness.Client.
	Witness *witness.Client
	// Warn receives what the user should know about where the evidence
	// is (a recorded location that moved, one replaced) and about a
	// signer key others can read; nil drops it.
	Warn func(msg string)
}

func (o *Options) registry() *evidence.Registry {
	if o.Backends == nil {
		o.Backends = backends.New()
	}
	return o.Backends
}

// Matter is an open matter. Its evidence store is opened on first use.
type Matter struct {
	Ledger *ledger.Ledger
	opts   Options
	store  evidence.Store
	lock   *matterLock // held while open for writing

	stamped  []TimestampResult // what the last AfterCheckpoint asked for
	cosigned []CosignResult

	secretsWarned bool // warnURLSecrets has warned
}

// Open opens the matter whose ledger is at opts.Ledger. Opened for
// writing, it first takes the matter's writer lock (LockPath), or fails
// at once with a *LockedError naming the holder; a ledger that cannot be
// written is refused (ErrNotWritable) before anything is created beside it.
// Opened read-only, it takes no lock and never waits for one.
func Open(ctx context.Context, opts Options) (*Matter, error) {
	var lk *matterLock
	if !opts.ReadOnly {
		if _, err := os.Stat(opts.Ledger); err == nil {
			if !ledger.Writable(opts.Ledger) {
				return nil, fmt.Errorf("matter: open %s: %w (a read-only file system, or no write permission on it or its folder); verify, log, prove, report --no-record and diff --no-record read it as it is", opts.Ledger, ErrNotWritable)
			}
			if lk, err = lock(opts.Ledger, opts.Command); err != nil {
				return nil, err
			}
		}
		// A missing ledger: ledger.Open says so, and nothing is created.
	}
	m := &Matter{opts: opts, lock: lk}
	l, err := ledger.Open(ctx, opts.Ledger, ledger.Options{Now: opts.Now, ReadOnly: opts.ReadOnly, AfterCheckpoint: m.afterCheckpoint})
	if err != nil {
		return nil, errors.Join(err, lk.release())
	}
	m.Ledger = l
	return m, nil
}

// Create makes a new matter called name: the ledger at opts.Ledger and,
// beside it, its signer key (mode 0600) and verifier key. It refuses to
// replace any of the three (ErrExists). The ledger is the commit point: it
// is built under a hidden partial name and linked into place only once
// both keys are written, so an init stopped at any point, even by
// SIGKILL, never leaves a ledger without its keys. Holding the writer
// lock, it first clears what a stopped init left (cleanStale, and a
// half-made matter of an older custody: halfMade), telling opts.Warn.
func Create(ctx context.Context, opts Options, name string) (m *Matter, err error) {
	if opts.ReadOnly {
		return nil, fmt.Errorf("matter: create: %w", ErrReadOnly)
	}
	keyFile, pubFile := SignerKeyPath(opts.Ledger), VerifierKeyPath(opts.Ledger)
	if keyFile == opts.Ledger || pubFile == opts.Ledger {
		return nil, fmt.Errorf("matter: create: the ledger file must not end in .key or .pub")
	}
	_, lockErr := os.Lstat(LockPath(opts.Ledger))
	lk, err := lock(opts.Ledger, opts.Command)
	if err != nil {
		return nil, err
	}
	// On failure, remove what Create made, the lock file too if it did.
	undoLock := func() {
		lk.release()
		if errors.Is(lockErr, fs.ErrNotExist) {
			os.Remove(LockPath(opts.Ledger))
		}
	}
	m = &Matter{opts: opts, lock: lk}
	if err := m.clearStoppedInit(ctx); err != nil {
		undoLock()
		return nil, err
	}
	for _, p := range []string{opts.Ledger, keyFile, pubFile} {
		if _, err := os.Lstat(p); err == nil {
			undoLock()
			return nil, fmt.Errorf("%s %w; refusing to overwrite it", p, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			undoLock()
			return nil, fmt.Errorf("matter: create: %w", err)
		}
	}
	dir, base := filepath.Split(opts.Ledger)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.partial-%d", base, rand.Uint32()))
	l, signer, err := ledger.Create(ctx, tmp, name, ledger.Options{Now: opts.Now})
	if err != nil {
		undoLock()
		return nil, err
	}
	var created []string
	defer func() {
		if err != nil {
			if l != nil {
				l.Close()
			}
			for _, p := range append(created, tmp, tmp+"-wal", tmp+"-shm", tmp+"-journal") {
				os.Remove(p)
			}
			undoLock()
		}
	}()
	if err := WriteNew(keyFile, []byte(signer+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("signer key: %w", err)
	}
	created = append(created, keyFile)
	if err := WriteNew(pubFile, []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	created = append(created, pubFile)
	// Written into the ledger before it is put in place: a ledger that
	// carries it had both key files beside it, so one found later
	// without them is a matter whose keys were moved away, never a
	// stopped init's leftover (halfMade).
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := l.SetState(ctx, StateKeysWritten, now().UTC().Format(time.RFC3339)); err != nil {
		return nil, fmt.Errorf("ledger: create %s: %w", opts.Ledger, err)
	}
	// Closed, the ledger is one file (SQLite checkpoints and removes its
	// -wal on the last close), which can be linked into place.
	err = l.Close()
	l = nil
	if err != nil {
		return nil, fmt.Errorf("ledger: create %s: %w", opts.Ledger, err)
	}
	if fi, err := os.Stat(tmp + "-wal"); err == nil && fi.Size() > 0 {
		return nil, fmt.Errorf("ledger: create %s: the new ledger's write-ahead log was not folded into it on close", opts.Ledger)
	}
	if err := os.Link(tmp, opts.Ledger); errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s %w; refusing to overwrite it", opts.Ledger, ErrExists)
	} else if err != nil {
		// Where links are not supported, a rename after looking again
		// (another init is excluded by the lock).
		if _, serr := os.Lstat(opts.Ledger); serr == nil {
			return nil, fmt.Errorf("%s %w; refusing to overwrite it", opts.Ledger, ErrExists)
		}
		if err := os.Rename(tmp, opts.Ledger); err != nil {
			return nil, fmt.Errorf("ledger: create %s: %w", opts.Ledger, err)
		}
	}
	created = append(created, opts.Ledger)
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	if err := fsinfo.SyncDir(cmp.Or(dir, ".")); err != nil {
		return nil, fmt.Errorf("ledger: create %s: %w", opts.Ledger, err)
	}
	if m.Ledger, err = ledger.Open(ctx, opts.Ledger, ledger.Options{Now: opts.Now, AfterCheckpoint: m.afterCheckpoint}); err != nil {
		return nil, err
	}
	return m, nil
}

// Close closes the evidence store (if opened) and the ledger, then
// releases the writer lock.
func (m *Matter) Close() error {
	var err error
	if m.store != nil {
		err = m.store.Close()
	}
	err = errors.Join(err, m.Ledger.Close())
	if m.lock != nil {
		err = errors.Join(err, m.lock.release())
		m.lock = nil
	}
	return err
}

// ReadOnly reports whether the matter was opened read-only.
func (m *Matter) ReadOnly() bool { return m.opts.ReadOnly }

// Evidence opens the matter's evidence store, once: Options.Evidence,
// else the store the ledger recorded (see the package documentation for
// how a recorded location is read), else evidence/ beside the ledger.
// A writable matter records the store it uses the first time, relative
// to the matter when the store is inside it; another one given for
// writing is refused (ErrEvidenceElsewhere) so that evidence is never
// split silently, unless the recorded store no longer exists.
func (m *Matter) Evidence(ctx context.Context) (evidence.Store, error) {
	if m.store != nil {
		return m.store, nil
	}
	reg := m.opts.registry()
	recorded, ok, err := m.Ledger.State(ctx, StateEvidence)
	if err != nil {
		return nil, err
	}
	dir, err := m.dir()
	if err != nil {
		return nil, err
	}
	var rec resolved
	if ok {
		if rec, err = resolveRecorded(reg, dir, recorded); err != nil {
			return nil, err
		}
	}
	loc := m.opts.Evidence
	switch {
	case loc != "":
		if loc, err = reg.Normalize(loc); err != nil {
			return nil, err
		}
		if ok && !m.opts.ReadOnly && !rec.matches(loc) {
			if rec.exists(reg) {
				return nil, fmt.Errorf("evidence: this ledger's evidence is at %s, not %s: %w", rec.loc, loc, ErrEvidenceElsewhere)
			}
			m.warn(fmt.Sprintf("the ledger's evidence store %s does not exist; using and recording %s", rec.loc, loc))
		}
	case ok && rec.ambiguous && !m.opts.ReadOnly:
		return nil, fmt.Errorf("evidence: %w: this ledger recorded %s, which is not beside it, and %s is; give --evidence with the one to write to", ErrEvidenceAmbiguous, rec.legacy, rec.loc)
	case ok:
		loc = rec.loc
		if rec.note != "" {
			m.warn(rec.note)
		}
	default:
		loc = filepath.Join(dir, "evidence")
	}
	st, err := reg.Open(ctx, loc, m.opts.EvidenceOptions)
	if err != nil {
		return nil, err
	}
	m.removeStaleTemps(ctx, st)
	if m.opts.ReadOnly {
		if m.opts.Evidence == "" && !ok {
			if _, err := os.Stat(loc); errors.Is(err, fs.ErrNotExist) {
				st = unmade{st, loc}
			}
		}
		st = evidence.ReadOnly(st)
	} else if form := recordForm(reg, dir, loc); !ok || form != recorded {
		if err := m.Ledger.SetState(ctx, StateEvidence, form); err != nil {
			st.Close()
			return nil, err
		}
	}
	m.store = st
	return st, nil
}

// unmade is the matter's own store, opened read-only before anything made
// it: custody init writes no evidence, the first command that stores some
// makes evidence/ and records it. It holds no object, where a folder
// store's listing fails on a missing folder so that a store that vanished
// (one the ledger recorded, one named with --evidence) never verifies as
// empty; this one never was.
type unmade struct {
	evidence.Store
	dir string
}

// made: the folder exists now (another process stored evidence).
func (u unmade) made() bool {
	_, err := os.Stat(u.dir)
	return !errors.Is(err, fs.ErrNotExist)
}

func (u unmade) Walk(ctx context.Context, fn func(hashchain.Hash) error) error {
	if !u.made() {
		return nil
	}
	return u.Store.Walk(ctx, fn)
}

func (u unmade) Survey(ctx context.Context, objects func(hashchain.Hash) error, strays func(string) error) error {
	if !u.made() {
		return nil
	}
	return u.Store.Survey(ctx, objects, strays)
}

// Recorded returns the evidence location the ledger recorded, if any, as
// recorded (a relative location is relative to the ledger's directory).
func (m *Matter) Recorded(ctx context.Context) (string, bool, error) {
	return m.Ledger.State(ctx, StateEvidence)
}

// dir is the matter's folder: the ledger's directory, absolute.
func (m *Matter) dir() (string, error) {
	abs, err := filepath.Abs(m.Ledger.Path())
	if err != nil {
		return "", fmt.Errorf("matter: %w", err)
	}
	return filepath.Dir(abs), nil
}

func (m *Matter) warn(msg string) {
	if m.opts.Warn != nil {
		m.opts.Warn(msg)
	}
}

// resolved is a recorded evidence location as this matter reads it.
type resolved struct {
	recorded  string // as recorded
	loc       string // normalized location to open
	legacy    string // the recorded absolute folder, when loc is a fallback for it
	note      string // what to tell the user about a fallback
	ambiguous bool   // legacy and loc both exist: a writer must be told which
}

// matches reports whether loc (normalized) is the recorded store, in
// either of its readings.
func (r resolved) matches(loc string) bool {
	return loc == r.loc || (r.legacy != "" && loc == r.legacy)
}

// exists reports whether the recorded store could still be there: a
// folder that exists, or any other scheme (not checked here).
func (r resolved) exists(reg *evidence.Registry) bool {
	if !isFolder(reg, r.loc) {
		return true
	}
	_, err := os.Stat(r.loc)
	return err == nil
}

// resolveRecorded reads a recorded location for the matter in dir:
//
//   - relative (custody records a folder inside the matter so): relative
//     to dir, wherever the matter now is;
//   - a URL of another scheme (s3://…): as recorded;
//   - an absolute folder (recorded by custody before locations were
//     relative, or a store outside the matter): as recorded when it is
//     inside dir; otherwise, when dir holds a folder with the same last
//     element (evidence/ beside a moved or copied ledger), that folder,
//     with a note — and, when the recorded folder also still exists, the
//     choice is ambiguous for a writer; otherwise as recorded.
func resolveRecorded(reg *evidence.Registry, dir, recorded string) (resolved, error) {
	r := resolved{recorded: recorded}
	if !isFolder(reg, recorded) {
		n, err := reg.Normalize(recorded)
		if err != nil {
			return r, fmt.Errorf("evidence: recorded location: %w", err)
		}
		r.loc = n
		return r, nil
	}
	p := strings.TrimPrefix(recorded, evidence.FileScheme+"://")
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, filepath.FromSlash(p))
	}
	n, err := reg.Normalize(p)
	if err != nil {
		return r, fmt.Errorf("evidence: recorded location: %w", err)
	}
	r.loc = n
	if !filepath.IsAbs(strings.TrimPrefix(recorded, evidence.FileScheme+"://")) || inside(dir, n) {
		return r, nil
	}
	beside := filepath.Join(dir, filepath.Base(n))
	if fi, err := os.Stat(beside); err != nil || !fi.IsDir() {
		return r, nil
	}
	_, err = os.Stat(n)
	r.legacy, r.loc, r.ambiguous = n, beside, err == nil
	if r.ambiguous {
		r.note = fmt.Sprintf("this ledger recorded its evidence at %s, which is not beside it (the matter was moved or copied): using %s beside the ledger; give --evidence %s to use the recorded one", n, beside, n)
	} else {
		r.note = fmt.Sprintf("this ledger recorded its evidence at %s, which does not exist: using %s beside the ledger", n, beside)
	}
	return r, nil
}

// recordForm is how a writable matter records loc (normalized): relative
// to dir (slash-separated) when it is a folder inside the matter, so that
// a copy of the matter's folder finds its own store; else as it is.
func recordForm(reg *evidence.Registry, dir, loc string) string {
	if !isFolder(reg, loc) || !inside(dir, loc) {
		return loc
	}
	rel, err := filepath.Rel(dir, loc)
	if err != nil {
		return loc
	}
	return filepath.ToSlash(rel)
}

// isFolder reports whether loc is opened by the folder backend.
func isFolder(reg *evidence.Registry, loc string) bool {
	b, _, err := reg.Lookup(loc)
	return err == nil && b.Scheme() == evidence.FileScheme
}

// inside reports whether path p is dir or below it.
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// SignerKey reads the checkpoint signer key: Options.SignerKey, else the
// file 'custody init' wrote beside the ledger. A read-only matter signs
// nothing and refuses (ErrReadOnly).
func (m *Matter) SignerKey() (string, error) {
	if m.opts.ReadOnly {
		return "", fmt.Errorf("signer key: %w", ErrReadOnly)
	}
	key, err := ReadSignerKey(m.opts.SignerKey, m.opts.Ledger)
	if err != nil {
		return "", err // a verifier key is not warned about being readable: it is meant to be
	}
	file := cmp.Or(m.opts.SignerKey, SignerKeyPath(m.opts.Ledger))
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows" {
		m.warn(fmt.Sprintf("signer key %s is readable by %s (mode %04o): anyone who can read it can sign checkpoints for this ledger; chmod 600 %s",
			file, map[bool]string{true: "other users", false: "its group"}[fi.Mode().Perm()&0o007 != 0], fi.Mode().Perm(), shellarg.Quote(file)))
	}
	return key, nil
}

// VerifierKey reads the verifier key as ReadVerifierKey does.
func (m *Matter) VerifierKey() (string, error) {
	return ReadVerifierKey(m.opts.VerifierKey, m.opts.Ledger)
}

// SignerKeyPath and VerifierKeyPath are where 'custody init' keeps a
// ledger's keys: beside it, custody.db → custody.key and custody.pub.
func SignerKeyPath(ledgerPath string) string { return keyBase(ledgerPath) + ".key" }

// VerifierKeyPath: see SignerKeyPath.
func VerifierKeyPath(ledgerPath string) string { return keyBase(ledgerPath) + ".pub" }

func keyBase(ledgerPath string) string {
	return strings.TrimSuffix(ledgerPath, filepath.Ext(ledgerPath))
}

// signerPrefix starts every signer key (a note.Signer's encoding).
const signerPrefix = "PRIVATE+KEY+"

// MaxKeyFile bounds a key file read: a key is one line of under 200
// bytes.
const MaxKeyFile = 64 << 10

// ReadSignerKey reads the signer key from file, or from the file beside
// the ledger when file is empty. It needs no open ledger. A file holding
// anything but a signer key — the verifier key (.pub) given by mistake —
// is refused (ErrWrongKey), as ReadVerifierKey refuses a signer key.
func ReadSignerKey(file, ledgerPath string) (string, error) {
	if file == "" {
		file = SignerKeyPath(ledgerPath)
	}
	b, err := fsinfo.ReadRegular(file, MaxKeyFile)
	if err != nil {
		return "", fmt.Errorf("signer key: %w (the key 'custody init' wrote beside the ledger, or --key)", err)
	}
	k := strings.TrimSpace(string(b))
	if !strings.HasPrefix(k, signerPrefix) {
		what := "no signer key"
		if strings.Count(k, "+") >= 2 {
			what = "a verifier key"
		}
		return "", fmt.Errorf("%w: %s holds %s; give the signer key (.key, the one 'custody init' wrote with mode 0600)", ErrWrongKey, file, what)
	}
	return k, nil
}

// ReadVerifierKey resolves a verifier key: key is the key itself (taken
// as such whenever it is one, hashchain.IsKeyText) or a file holding it;
// when key is empty, the file beside the ledger if there
// is one ("" if not: Verify then says whether it needed one). A signer
// key is refused (ErrWrongKey): a verifier must never be handed one; so
// is anything else that is no verifier key, said in words and never
// quoted (the file may hold anything). It needs no open ledger (verify
// --proof works with none).
func ReadVerifierKey(key, ledgerPath string) (string, error) {
	if hashchain.IsKeyText(key) {
		// The key itself, never a file of that name: see IsKeyText.
		key = strings.TrimSpace(key)
		if strings.HasPrefix(key, signerPrefix) {
			return "", fmt.Errorf("%w: --key is a signer key; give the verifier key", ErrWrongKey)
		}
		if _, err := note.NewVerifier(key); err != nil {
			return "", fmt.Errorf("%w: --key is no verifier key: %s", ErrWrongKey, hashchain.VerifierKeyProblem(key, err))
		}
		return key, nil
	}
	name := key
	if name == "" {
		name = VerifierKeyPath(ledgerPath)
	}
	b, err := fsinfo.ReadRegular(name, MaxKeyFile)
	var tooLarge *fsinfo.TooLargeError
	switch {
	case err == nil:
		k := strings.TrimSpace(string(b))
		if strings.HasPrefix(k, signerPrefix) {
			return "", fmt.Errorf("%w: %s holds a signer key; give the verifier key (.pub)", ErrWrongKey, name)
		}
		if _, err := note.NewVerifier(k); err != nil {
			// Said in words, never quoted: the file may be any file.
			return "", fmt.Errorf("%w: %s holds no verifier key: %s", ErrWrongKey, name, hashchain.VerifierKeyProblem(k, err))
		}
		return k, nil
	case key == "" && errors.Is(err, fs.ErrNotExist):
		return "", nil
	case key != "" && errors.Is(err, fs.ErrNotExist) && strings.Count(key, "+") >= 2:
		if strings.HasPrefix(key, signerPrefix) {
			return "", fmt.Errorf("%w: --key is a signer key; give the verifier key", ErrWrongKey)
		}
		if _, err := note.NewVerifier(key); err != nil {
			return "", fmt.Errorf("%w: --key is no verifier key: %s", ErrWrongKey, hashchain.VerifierKeyProblem(key, err))
		}
		return key, nil // the key itself
	case errors.As(err, &tooLarge):
		// A file that holds no verifier key, as one of any other content:
		// the flag names the wrong file (a usage error, exit 2).
		return "", fmt.Errorf("%w: %s holds no verifier key: it is %v, and a verifier key is one line", ErrWrongKey, name, tooLarge)
	default:
		return "", fmt.Errorf("--key: %w", err)
	}
}

// missingFolderError: the folder a file was to be written in does not
// exist (fs.ErrNotExist).
type missingFolderError struct{ name, dir string }

func (e *missingFolderError) Error() string {
	return fmt.Sprintf("write %s: the folder %s does not exist: create it first", e.name, e.dir)
}
func (e *missingFolderError) Unwrap() error { return fs.ErrNotExist }

// WriteNew creates name with data, failing if it exists, and syncs it: a
// key that vanishes in a crash would orphan the ledger's checkpoints, and a
// checkpoint or proof handed to counsel must not be lost in one either.
// The data is written and synced under a hidden temporary name beside
// name first, then linked to name: a write cut short — a full disk,
// kill -9 — never leaves a partial file under name, which would be taken
// for a whole one and refuse the next try.
func WriteNew(name string, data []byte, perm os.FileMode) error {
	if _, err := os.Lstat(name); err == nil {
		return &fs.PathError{Op: "open", Path: name, Err: syscall.EEXIST}
	}
	dir, base := filepath.Split(name)
	var f *os.File
	var err error
	for range 100 {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.partial-%d", base, rand.Uint32()))
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		// Named after name, not the temporary file the user never asked for.
		if _, serr := os.Stat(filepath.Clean(dir + ".")); errors.Is(err, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
			return &missingFolderError{name: name, dir: filepath.Clean(dir + ".")}
		}
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return &fs.PathError{Op: "create", Path: name, Err: pe.Err}
		}
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// A link never replaces name; where links are not supported (some
	// FUSE and FAT file systems), a rename after looking again.
	if err := os.Link(tmp, name); errors.Is(err, fs.ErrExist) {
		return &fs.PathError{Op: "open", Path: name, Err: syscall.EEXIST}
	} else if err != nil {
		if _, serr := os.Lstat(name); serr == nil {
			return &fs.PathError{Op: "open", Path: name, Err: syscall.EEXIST}
		}
		if err := os.Rename(tmp, name); err != nil {
			return err
		}
	}
	return fsinfo.SyncDir(cmp.Or(dir, "."))
}
