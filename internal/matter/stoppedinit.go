package matter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// ErrHalfMade: the matter's files look like what an init stopped part-way
// left (an older custody made the ledger before its keys), but hold
// something Create will not remove by itself. It comes with ErrExists.
var ErrHalfMade = errors.New("a matter an init did not finish")

// clearStoppedInit removes what an init stopped part-way (killed, a power
// loss) left beside the ledger, when nothing of value can be lost, and
// says so through opts.Warn; a half-made matter that holds something is
// refused with ErrHalfMade, saying how to recover. It runs holding the
// writer lock, which every init takes first: no other init is writing
// these files.
func (m *Matter) clearStoppedInit(ctx context.Context) error {
	path := m.opts.Ledger
	keyFile, pubFile := SignerKeyPath(path), VerifierKeyPath(path)
	var removed []string
	remove := func(p string) error {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("matter: create: removing %s, left by an init that was stopped: %w", p, err)
		} else if err == nil {
			removed = append(removed, filepath.Base(p))
		}
		return nil
	}
	// A partial ledger (this Create's commit point not reached) and the
	// keys written for it: the keys go only when they are that ledger's.
	partials, err := filepath.Glob(partialGlob(path))
	if err != nil {
		return fmt.Errorf("matter: create: %w", err)
	}
	_, dbErr := os.Lstat(path)
	for _, p := range partials {
		if strings.HasSuffix(p, "-wal") || strings.HasSuffix(p, "-shm") || strings.HasSuffix(p, "-journal") {
			continue
		}
		if errors.Is(dbErr, fs.ErrNotExist) && keysOf(ctx, p, keyFile, pubFile) {
			for _, k := range []string{keyFile, pubFile} {
				if err := remove(k); err != nil {
					return err
				}
			}
		}
	}
	for _, g := range []string{partialGlob(path), partialGlob(keyFile), partialGlob(pubFile)} {
		ps, err := filepath.Glob(g)
		if err != nil {
			return fmt.Errorf("matter: create: %w", err)
		}
		for _, p := range ps {
			if err := remove(p); err != nil {
				return err
			}
		}
	}
	if dbErr == nil {
		made, err := halfMade(ctx, path, keyFile, pubFile)
		if err != nil {
			return err
		}
		if made {
			for _, p := range []string{keyFile, pubFile, path + "-wal", path + "-shm", path} {
				if err := remove(p); err != nil {
					return err
				}
			}
		}
	}
	if len(removed) > 0 {
		m.warn(fmt.Sprintf("removed what an init that was stopped part-way left (nothing of value: no entry, no evidence): %s", strings.Join(removed, ", ")))
	}
	return nil
}

// partialGlob matches WriteNew's (and Create's) temporary names for name.
func partialGlob(name string) string {
	dir, base := filepath.Split(name)
	return filepath.Join(dir, "."+base+".partial-*")
}

// keysOf reports whether the ledger at partial is an empty ledger and the
// key files that exist beside the matter are its own (the signer key
// signs what its verifier key checks).
func keysOf(ctx context.Context, partial, keyFile, pubFile string) bool {
	l, err := ledger.Open(ctx, partial, ledger.Options{})
	if err != nil {
		return false
	}
	defer l.Close()
	if h, err := l.Head(ctx); err != nil || h.Size != 0 {
		return false
	}
	return keyMatches(l, keyFile, pubFile)
}

// keyMatches: each of keyFile and pubFile is missing or l's.
func keyMatches(l *ledger.Ledger, keyFile, pubFile string) bool {
	if b, err := os.ReadFile(pubFile); err == nil {
		if strings.TrimSpace(string(b)) != l.VerifierKey() {
			return false
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if b, err := os.ReadFile(keyFile); err == nil {
		n, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: l.Origin(), Root: hashchain.EmptyRoot}, strings.TrimSpace(string(b)))
		if err != nil {
			return false
		}
		if _, err := hashchain.VerifyCheckpoint(n, l.VerifierKey()); err != nil {
			return false
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return true
}

// halfMade looks at a ledger file with a key missing beside it, as an
// older custody's init left it when stopped between making the ledger and
// writing the keys. It is removable (true) when it holds nothing: an
// empty file or a SQLite database with no table yet (not yet a ledger), or
// a ledger with no entry and no evidence store recorded, whose keys (if
// any) are its own, whose verifier key is not there without its signer
// key (that is a finished matter's signer key moved away), and that is
// no used matter (usedMatter: this custody's init marked it, or it holds
// a signed checkpoint, a setting or a run). Otherwise it returns an
// ErrExists error saying what there is and how to recover; false and nil
// when both keys are there (a matter).
func halfMade(ctx context.Context, path, keyFile, pubFile string) (bool, error) {
	_, kerr := os.Lstat(keyFile)
	_, perr := os.Lstat(pubFile)
	if kerr == nil && perr == nil {
		return false, nil
	}
	missing := keyFile
	if kerr == nil {
		missing = pubFile
	}
	if empty, err := emptyDatabase(path); err != nil {
		return false, fmt.Errorf("matter: create: %w", err)
	} else if empty {
		return true, nil
	}
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		return false, fmt.Errorf("%s %w but %s does not, and it cannot be read as a ledger (%w): perhaps %w; if this folder holds no matter, remove %s (and any %s-wal, %s-shm, %s, %s) and run init again", path, ErrExists, missing, err, ErrHalfMade, path, path, path, keyFile, pubFile)
	}
	defer l.Close()
	h, err := l.Head(ctx)
	if err != nil {
		return false, err
	}
	if h.Size > 0 {
		return false, fmt.Errorf("%s %w with %d entries, but %s is missing beside it: restore the matter's key files from a backup (or give --key); refusing to overwrite it", path, ErrExists, h.Size, missing)
	}
	if loc, ok, err := l.State(ctx, StateEvidence); err != nil {
		return false, err
	} else if ok {
		return false, fmt.Errorf("%s %w, an empty ledger with %s missing: %w, but it records an evidence store (%s); if that store holds nothing of this matter, remove %s (and %s-wal, %s-shm, %s, %s) and run init again", path, ErrExists, missing, ErrHalfMade, loc, path, path, path, keyFile, pubFile)
	}
	if !keyMatches(l, keyFile, pubFile) {
		return false, fmt.Errorf("%s %w, an empty ledger with %s missing: %w, but the key file beside it is not its own; move the key files away, remove %s (and %s-wal, %s-shm) and run init again", path, ErrExists, missing, ErrHalfMade, path, path, path)
	}
	if kerr != nil && perr == nil {
		// The ledger's own verifier key without its signer key: no init
		// stopped part-way leaves that (this custody puts the ledger in
		// place last; an older one wrote the signer key before the
		// verifier key). It is a finished matter whose signer key was
		// moved away or lost, and its verifier key may have been given
		// to an auditor already: a new key pair would not match it.
		return false, fmt.Errorf("%s %w, an empty matter whose signer key %s is missing, with its verifier key %s beside it: the init finished, and the signer key was moved away or lost; restore the signer key from a backup, or, if this matter is to be abandoned, remove %s, %s (and %s-wal, %s-shm) deliberately and run init again; refusing to overwrite it", path, ErrExists, keyFile, pubFile, path, pubFile, path, path)
	}
	if why, err := usedMatter(ctx, l); err != nil {
		return false, err
	} else if why != "" {
		// Not what an older init stopped before its keys leaves: that is
		// a ledger as ledger.Create makes it and nothing more. This one
		// is a matter whose key files were moved away or lost.
		return false, fmt.Errorf("%s %w, an empty matter with %s missing, but %s: it is a finished matter, not what a stopped init leaves, and its key files were moved away or lost; restore them from a backup, or, if this matter is to be abandoned, remove %s, %s, %s (and %s-wal, %s-shm) deliberately and run init again; refusing to overwrite it", path, ErrExists, missingKeys(kerr, perr, keyFile, pubFile), why, path, keyFile, pubFile, path, path)
	}
	return true, nil
}

// usedMatter says why an empty ledger is a finished matter rather than
// what an older custody's init left when stopped before writing its keys
// (a ledger as ledger.Create makes it, nothing more), or "" when nothing
// does: the mark this custody's init sets once both keys are written
// (StateKeysWritten), a signed checkpoint (the signer key was used), a
// setting made since init (timestamp authorities, witnesses), or a run
// begun.
func usedMatter(ctx context.Context, l *ledger.Ledger) (string, error) {
	if at, ok, err := l.State(ctx, StateKeysWritten); err != nil {
		return "", err
	} else if ok {
		return fmt.Sprintf("its init finished (both key files were written at %s, before the ledger was put in place)", at), nil
	}
	if cps, err := l.Checkpoints(ctx); err != nil {
		return "", err
	} else if len(cps) > 0 {
		return fmt.Sprintf("it holds %d signed checkpoints (its signer key signed them)", len(cps)), nil
	}
	for _, k := range []string{StateTSA, StateTSARoots, StateWitness, StateWitnessNames} {
		if _, ok, err := l.State(ctx, k); err != nil {
			return "", err
		} else if ok {
			return fmt.Sprintf("it records a setting made after init (%s)", k), nil
		}
	}
	if runs, err := l.Runs(ctx); err != nil {
		return "", err
	} else if len(runs) > 0 {
		return fmt.Sprintf("it records %d runs begun (run %s first)", len(runs), runs[0].ID), nil
	}
	return "", nil
}

// missingKeys names the key files missing.
func missingKeys(kerr, perr error, keyFile, pubFile string) string {
	switch {
	case kerr != nil && perr != nil:
		return "both key files, " + keyFile + " and " + pubFile + ","
	case kerr != nil:
		return keyFile
	}
	return pubFile
}

// emptyDatabase: the file at path is empty, or a SQLite database whose
// schema never changed (schema cookie 0: no table) with no write-ahead
// log frames; what an older init left before the ledger's schema.
func emptyDatabase(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil || !bytes.HasPrefix(h[:], []byte("SQLite format 3\x00")) {
		return false, nil
	}
	if binary.BigEndian.Uint32(h[40:44]) != 0 {
		return false, nil
	}
	// A -wal of more than its 32-byte header holds frames: a schema not
	// yet checkpointed into the file.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 32 {
		return false, nil
	}
	return true, nil
}
