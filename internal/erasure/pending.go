package erasure

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/shellarg"
)

// ErrPending: an erase was cut short (killed, a crash, power lost) after
// deleting evidence and before recording its erasure entry; its journal
// (PendingPath) says what it was doing. Every writer but the same erase
// refuses until that erase is run again and records it.
var ErrPending = errors.New("an erase was cut short: it deleted evidence and did not record the erasure")

// Pending is an erase's journal: written (and made durable) before the
// erase deletes anything, removed once its erasure entry is appended. One
// left beside the ledger explains the objects missing from the store and
// names the command that finishes the erasure.
type Pending struct {
	Version       int       `json:"version"`
	Started       time.Time `json:"started"`
	PID           int       `json:"pid"`
	Host          string    `json:"host"`
	Operator      string    `json:"operator"`
	Conversations []string  `json:"conversations"`
	Messages      []string  `json:"messages"`
	Reason        string    `json:"reason"`
	OverrideHold  string    `json:"override_hold,omitempty"`
	// Objects are the evidence objects (SHA-256, hex) it was about to
	// delete, every one it could have deleted before it stopped.
	Objects []string `json:"objects"`
	// Command is the command line that finishes it (the same erase).
	Command string `json:"command"`
}

// PendingPath is the journal of an erase of the ledger at ledgerPath:
// custody.db → custody.db.erase-pending, beside it.
func PendingPath(ledgerPath string) string { return ledgerPath + ".erase-pending" }

// ReadPending returns the journal an erase of the ledger at ledgerPath
// left, or nil when there is none.
func ReadPending(ledgerPath string) (*Pending, error) {
	name := PendingPath(ledgerPath)
	b, err := fsinfo.ReadRegular(name, 64<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: its journal %s cannot be read: %w", ErrPending, name, err)
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: its journal %s does not decode: %w", ErrPending, name, err)
	}
	return &p, nil
}

// WritePending makes p the journal of the ledger at ledgerPath, durably:
// written under a temporary name, fsynced, renamed into place, and the
// folder fsynced, so that once it returns no crash can lose it.
func WritePending(ledgerPath string, p *Pending) error {
	name := PendingPath(ledgerPath)
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write the erase journal: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	err = cmp.Or(err, f.Sync())
	err = cmp.Or(f.Close(), err)
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write the erase journal %s: %w", name, err)
	}
	if err := fsinfo.SyncDir(dir); err != nil {
		return fmt.Errorf("write the erase journal %s: %w", name, err)
	}
	return nil
}

// RemovePending removes the journal of the ledger at ledgerPath, and
// fsyncs the folder: the erasure is recorded. None there is no error.
func RemovePending(ledgerPath string) error {
	name := PendingPath(ledgerPath)
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the erase journal %s: %w", name, err)
	}
	if err := fsinfo.SyncDir(filepath.Dir(name)); err != nil {
		return fmt.Errorf("remove the erase journal %s: %w", name, err)
	}
	return nil
}

// SameSelection reports whether an erase of conversations and messages
// is the one p records (the same ids, in any order): that erase
// finishes it.
func (p *Pending) SameSelection(conversations, messages []string) bool {
	set := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}
	return slices.Equal(set(p.Conversations), set(conversations)) && slices.Equal(set(p.Messages), set(messages))
}

// ObjectSet returns p's objects that parse as SHA-256 hashes.
func (p *Pending) ObjectSet() map[hashchain.Hash]bool {
	out := make(map[hashchain.Hash]bool, len(p.Objects))
	for _, s := range p.Objects {
		if h, err := hashchain.ParseHash(s); err == nil {
			out[h] = true
		}
	}
	return out
}

// Describe says what p is, for an error or a warning: when it started,
// by whom, what it erases, and how many objects it was to delete.
func (p *Pending) Describe(ledgerPath string) string {
	var what []string
	if n := len(p.Conversations); n > 0 {
		what = append(what, fmt.Sprintf("%d conversation(s)", n))
	}
	if n := len(p.Messages); n > 0 {
		what = append(what, fmt.Sprintf("%d message(s)", n))
	}
	return fmt.Sprintf("an erase of %s started %s by %s (pid %d on %s) was cut short: it may have deleted any of the %d evidence objects it was to delete, and recorded no erasure entry (journal %s)",
		strings.Join(what, " and "), p.Started.UTC().Format(time.RFC3339), cmp.Or(p.Operator, "unknown"), p.PID, p.Host, len(p.Objects), PendingPath(ledgerPath))
}

// Refusal is the error of a writer that found p: finish the erase first.
func (p *Pending) Refusal(ledgerPath string) error {
	return fmt.Errorf("%w: %s; run the same erase again to finish and record it before anything else writes this matter: %s", ErrPending, p.Describe(ledgerPath), p.Command)
}

// RerunCommand is the command line of an erase of the ledger at
// ledgerPath with this selection, reason and override, and the other
// flags it was run with (flags: "--name=value" words, the evidence store
// and its options, --key), quoted for a POSIX shell: what the journal
// names to finish it. Without its flags an erase of an S3 store cannot
// reach it again (--evidence s3://…, --s3-endpoint); credentials are
// never flags, they stay in the environment.
func RerunCommand(ledgerPath string, conversations, messages []string, reason, overrideHold string, flags ...string) string {
	if abs, err := filepath.Abs(ledgerPath); err == nil {
		ledgerPath = abs
	}
	args := []string{"custody", "--ledger", shellarg.Quote(ledgerPath), "erase"}
	for _, c := range conversations {
		args = append(args, "--conversation", shellarg.Quote(c))
	}
	for _, m := range messages {
		args = append(args, "--message", shellarg.Quote(m))
	}
	args = append(args, "--reason", shellarg.Quote(reason))
	if overrideHold != "" {
		args = append(args, "--override-hold", shellarg.Quote(overrideHold))
	}
	for _, f := range flags {
		args = append(args, shellarg.Quote(f))
	}
	return strings.Join(args, " ")
}
