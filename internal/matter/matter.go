package matter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/ledger"
)

// Errors callers match with errors.Is. Commands report them as usage
// errors: each is fixed by a different flag or file, not by a retry.
var (
	// ErrEvidenceElsewhere: a location was given for writing that is not
	// the evidence store the ledger recorded.
	ErrEvidenceElsewhere = errors.New("not the ledger's evidence store")
	// ErrWrongKey: a signer key where a verifier key belongs, or the
	// reverse.
	ErrWrongKey = errors.New("wrong kind of key")
	// ErrExists: Create found a ledger or key file already there; it
	// never replaces one.
	ErrExists = errors.New("already exists")
	// ErrReadOnly: the matter was opened read-only and the call would
	// need to write (or sign).
	ErrReadOnly = errors.New("matter is open read-only")
)

// StateEvidence is the ledger state key that records the matter's evidence
// store, in its canonical form (evidence.Registry.Normalize).
const StateEvidence = "evidence_url"

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
}

// Open opens the matter whose ledger is at opts.Ledger.
func Open(ctx context.Context, opts Options) (*Matter, error) {
	l, err := ledger.Open(ctx, opts.Ledger, ledger.Options{Now: opts.Now, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &Matter{Ledger: l, opts: opts}, nil
}

// Create makes a new matter called name: the ledger at opts.Ledger and,
// beside it, its signer key (mode 0600) and verifier key. It refuses to
// replace any of the three (ErrExists), and removes what it made if it
// fails part-way: a ledger without its key could never be signed.
func Create(ctx context.Context, opts Options, name string) (m *Matter, err error) {
	if opts.ReadOnly {
		return nil, fmt.Errorf("matter: create: %w", ErrReadOnly)
	}
	keyFile, pubFile := SignerKeyPath(opts.Ledger), VerifierKeyPath(opts.Ledger)
	if keyFile == opts.Ledger || pubFile == opts.Ledger {
		return nil, fmt.Errorf("matter: create: the ledger file must not end in .key or .pub")
	}
	for _, p := range []string{opts.Ledger, keyFile, pubFile} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s %w; refusing to overwrite it", p, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("matter: create: %w", err)
		}
	}
	l, signer, err := ledger.Create(ctx, opts.Ledger, name, ledger.Options{Now: opts.Now})
	if err != nil {
		return nil, err
	}
	var created []string
	defer func() {
		if err != nil {
			l.Close()
			for _, p := range append(created, opts.Ledger, opts.Ledger+"-wal", opts.Ledger+"-shm") {
				os.Remove(p)
			}
		}
	}()
	if err := writeNew(keyFile, []byte(signer+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("signer key: %w", err)
	}
	created = append(created, keyFile)
	if err := writeNew(pubFile, []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	created = append(created, pubFile)
	return &Matter{Ledger: l, opts: opts}, nil
}

// Close closes the evidence store (if opened) and the ledger.
func (m *Matter) Close() error {
	var err error
	if m.store != nil {
		err = m.store.Close()
	}
	return errors.Join(err, m.Ledger.Close())
}

// ReadOnly reports whether the matter was opened read-only.
func (m *Matter) ReadOnly() bool { return m.opts.ReadOnly }

// Evidence opens the matter's evidence store, once: Options.Evidence,
// else the store the ledger recorded, else evidence/ beside the ledger.
// The first store a writable matter uses is recorded in the ledger so
// that later commands find it; another one given for writing is refused
// (ErrEvidenceElsewhere) so that evidence is never split silently.
func (m *Matter) Evidence(ctx context.Context) (evidence.Store, error) {
	if m.store != nil {
		return m.store, nil
	}
	reg := m.opts.registry()
	recorded, ok, err := m.Ledger.State(ctx, StateEvidence)
	if err != nil {
		return nil, err
	}
	loc := m.opts.Evidence
	switch {
	case loc == "" && ok:
		loc = recorded
	case loc == "":
		loc = filepath.Join(filepath.Dir(m.Ledger.Path()), "evidence")
	}
	if loc, err = reg.Normalize(loc); err != nil {
		return nil, err
	}
	if ok && !m.opts.ReadOnly && !sameLocation(reg, recorded, loc) {
		return nil, fmt.Errorf("evidence: this ledger's evidence is at %s, not %s: %w", recorded, loc, ErrEvidenceElsewhere)
	}
	st, err := reg.Open(ctx, loc, m.opts.EvidenceOptions)
	if err != nil {
		return nil, err
	}
	if m.opts.ReadOnly {
		st = evidence.ReadOnly(st)
	} else if !ok {
		if err := m.Ledger.SetState(ctx, StateEvidence, loc); err != nil {
			st.Close()
			return nil, err
		}
	}
	m.store = st
	return st, nil
}

// Recorded returns the evidence location the ledger recorded, if any.
func (m *Matter) Recorded(ctx context.Context) (string, bool, error) {
	return m.Ledger.State(ctx, StateEvidence)
}

// sameLocation compares a recorded location (perhaps written by an older
// custody, in another spelling) with a normalized one.
func sameLocation(reg *evidence.Registry, recorded, loc string) bool {
	if n, err := reg.Normalize(recorded); err == nil {
		recorded = n
	}
	return recorded == loc
}

// SignerKey reads the checkpoint signer key: Options.SignerKey, else the
// file 'custody init' wrote beside the ledger. A read-only matter signs
// nothing and refuses (ErrReadOnly).
func (m *Matter) SignerKey() (string, error) {
	if m.opts.ReadOnly {
		return "", fmt.Errorf("signer key: %w", ErrReadOnly)
	}
	return ReadSignerKey(m.opts.SignerKey, m.opts.Ledger)
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

// ReadSignerKey reads the signer key from file, or from the file beside
// the ledger when file is empty. It needs no open ledger.
func ReadSignerKey(file, ledgerPath string) (string, error) {
	if file == "" {
		file = SignerKeyPath(ledgerPath)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("signer key: %w (the key 'custody init' wrote beside the ledger, or --key)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadVerifierKey resolves a verifier key: key is a file holding it, or
// the key itself; when key is empty, the file beside the ledger if there
// is one ("" if not: Verify then says whether it needed one). A signer
// key is refused (ErrWrongKey): a verifier must never be handed one. It
// needs no open ledger (verify --proof works with none).
func ReadVerifierKey(key, ledgerPath string) (string, error) {
	name := key
	if name == "" {
		name = VerifierKeyPath(ledgerPath)
	}
	b, err := os.ReadFile(name)
	switch {
	case err == nil:
		k := strings.TrimSpace(string(b))
		if strings.HasPrefix(k, signerPrefix) {
			return "", fmt.Errorf("%w: %s holds a signer key; give the verifier key (.pub)", ErrWrongKey, name)
		}
		return k, nil
	case key == "" && errors.Is(err, fs.ErrNotExist):
		return "", nil
	case key != "" && errors.Is(err, fs.ErrNotExist) && strings.Count(key, "+") >= 2:
		if strings.HasPrefix(key, signerPrefix) {
			return "", fmt.Errorf("%w: --key is a signer key; give the verifier key", ErrWrongKey)
		}
		return key, nil // the key itself
	default:
		return "", fmt.Errorf("--key: %w", err)
	}
}

// writeNew creates name with data, failing if it exists, and syncs it: a
// key that vanishes in a crash would orphan the ledger's checkpoints.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
