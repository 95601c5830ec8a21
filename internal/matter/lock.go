package matter

import (
	"errors"
	"fmt"
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
type Holder = fsinfo.LockHolder

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
	*fsinfo.HolderLock
	since time.Time
}

// lock takes the matter's writer lock for command, or fails at once with a
// *LockedError naming the holder. The lock is an flock(2) on the lock
// file (fsinfo.LockWithHolder), so the kernel releases it when its
// process ends however it ends: a lock file left by a dead process never
// blocks. Its content is the holder's details, emptied on release.
func lock(ledgerPath, command string) (*matterLock, error) {
	name := LockPath(ledgerPath)
	l, h, err := fsinfo.LockWithHolder(name, command, 0)
	if err != nil {
		return nil, fmt.Errorf("matter: lock %s: %w", name, err)
	}
	if l == nil {
		return nil, &LockedError{Lock: name, Holder: h}
	}
	return &matterLock{HolderLock: l, since: l.Since}, nil
}

// release lets the lock go; nil does nothing.
func (l *matterLock) release() error {
	if l == nil {
		return nil
	}
	return l.Release()
}
