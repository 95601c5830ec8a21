package witness

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// LockFile is the lock file in the state folder. A witness holds an
// exclusive flock(2) on it from loading a state to saving it (Add), or
// for its lifetime (Hold, as witness serve does): two witness processes
// on one folder would otherwise both load the same state and cosign two
// forks of the same size. The kernel lets the lock go when the process
// ends, however it ends; the file is never removed (two processes could
// then lock two different files), and holds the holder's details.
const LockFile = "witness.lock"

// LockWait is how long Add waits for the state a moment held by another
// witness process before refusing.
const LockWait = 2 * time.Second

// ErrStateInUse: another witness process holds the state folder.
var ErrStateInUse = errors.New("the witness state is in use")

// Holder is what the lock file says about the process holding it.
type Holder = fsinfo.LockHolder

// StateInUseError is the error of a witness that found its state folder
// held by another witness process.
type StateInUseError struct {
	Lock   string  // the lock file
	Holder *Holder // nil if the holder had not written its details yet
}

func (e *StateInUseError) Error() string {
	who := "another process (it has not said which yet)"
	if e.Holder != nil {
		who = fmt.Sprintf("pid %d (%s on %s, since %s)", e.Holder.PID, e.Holder.Command, e.Holder.Host, e.Holder.Started.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("witness: %s by %s (lock %s): one witness process per --state folder; send the checkpoint to that one, or stop it", ErrStateInUse, who, e.Lock)
}

func (e *StateInUseError) Unwrap() error { return ErrStateInUse }

// stateLock is a held lock: the open lock file.
type stateLock struct{ *fsinfo.HolderLock }

// lockState takes the lock of the state folder dir for command, trying
// again until wait has passed, else fails with a *StateInUseError.
func lockState(dir, command string, wait time.Duration) (*stateLock, error) {
	name := filepath.Join(dir, LockFile)
	l, h, err := fsinfo.LockWithHolder(name, command, wait)
	if err != nil {
		return nil, fmt.Errorf("witness: state lock %s: %w", name, err)
	}
	if l == nil {
		return nil, &StateInUseError{Lock: name, Holder: h}
	}
	return &stateLock{l}, nil
}

// release lets the lock go; nil does nothing.
func (l *stateLock) release() error {
	if l == nil {
		return nil
	}
	return l.Release()
}

// Hold takes the state folder's lock for command until Close, waiting up
// to wait for another witness process to let it go; else it fails with a
// *StateInUseError naming that process. witness serve holds it for its
// lifetime, so that a second witness on the folder refuses to start.
func (w *Witness) Hold(command string, wait time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held != nil {
		return nil
	}
	l, err := lockState(w.dir, command, wait)
	if err != nil {
		return err
	}
	w.held = l
	return nil
}

// Close lets go of the lock Hold took.
func (w *Witness) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.held.release()
	w.held = nil
	return err
}
