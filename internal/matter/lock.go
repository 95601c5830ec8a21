package matter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// ErrLocked: another process is writing the matter (Open with write
// access refuses at once rather than wait). The error names the holder.
var ErrLocked = errors.New("matter is locked by another writer")

// LockPath is the lock file of the matter whose ledger is at ledgerPath:
// custody.db → custody.lock, beside the keys.
func LockPath(ledgerPath string) string { return keyBase(ledgerPath) + ".lock" }

// Holder is what the lock file says about the process holding the lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

func (h Holder) String() string {
	cmd := h.Command
	if cmd == "" {
		cmd = "a custody command"
	}
	return fmt.Sprintf("%s (pid %d on %s, since %s)", cmd, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// LockedError is the error of a writer that found the matter locked.
type LockedError struct {
	Lock   string  // the lock file
	Holder *Holder // nil if the holder had not written its details yet
}

func (e *LockedError) Error() string {
	who := "another process (it has not said which yet)"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("%s: %s is writing this matter (lock %s); wait for it to finish, or stop it: one writer at a time", ErrLocked, who, e.Lock)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// matterLock is a held lock: the open lock file, and when it was taken.
type matterLock struct {
	f     *os.File
	since time.Time
}

// lock takes the matter's writer lock for command, or fails at once with a
// *LockedError naming the holder. The lock is an flock(2) on the lock
// file, so the kernel releases it when its process ends however it ends:
// a lock file left by a dead process never blocks. The file is never
// removed (removing it would let two writers lock two different files);
// its content is the holder's details, emptied on release.
func lock(ledgerPath, command string) (*matterLock, error) {
	name := LockPath(ledgerPath)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("matter: lock: %w", err)
	}
	locked, err := fsinfo.TryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("matter: lock %s: %w", name, err)
	}
	if !locked {
		h := readHolder(f)
		f.Close()
		return nil, &LockedError{Lock: name, Holder: h}
	}
	host, _ := os.Hostname()
	since := time.Now()
	b, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Command: command, Started: since.UTC()})
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		fsinfo.Unlock(f)
		f.Close()
		return nil, fmt.Errorf("matter: lock %s: %w", name, err)
	}
	return &matterLock{f: f, since: since}, nil
}

// readHolder reads the holder's details, waiting briefly for a holder that
// has just taken the lock to write them.
func readHolder(f *os.File) *Holder {
	for range 20 {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			var h Holder
			if json.Unmarshal(b, &h) == nil {
				return &h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// release empties the lock file and lets the lock go.
func (l *matterLock) release() error {
	if l == nil {
		return nil
	}
	err := l.f.Truncate(0)
	return errors.Join(err, fsinfo.Unlock(l.f), l.f.Close())
}
