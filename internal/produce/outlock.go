package produce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// ErrOutBusy: another produce is writing into the same --out (the
// message names the lock file); nothing was changed.
var ErrOutBusy = errors.New("produce: another produce into this folder is running")

// outLockPath is the lock file of every production into out: hidden
// beside it, in its parent, like the folders a production is built in.
func outLockPath(out string) string {
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".produce.lock")
}

// lockOut takes the lock on productions into out, or fails at once with
// ErrOutBusy. The matter's writer lock keeps two runs of one matter apart,
// but two copies of a matter (the same origin, two ledger files, two
// locks) producing into one --out would each take the other's folder
// under construction for one its own earlier run left unrecorded, and
// remove it (resume). The lock is an flock(2), let go by the kernel when
// the process ends however it ends. release removes the file before it
// lets go, so that nothing is left beside the production; a run that
// locked a file just removed (opened before the removal) sees that the
// name no longer leads to it and tries again.
func lockOut(out string) (release func() error, err error) {
	name := outLockPath(out)
	for range 10 {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("produce: lock %s: %w", name, err)
		}
		locked, err := fsinfo.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("produce: lock %s: %w", name, err)
		}
		if !locked {
			f.Close()
			return nil, fmt.Errorf("%w: %s is locked (%s); wait for it to finish, or produce into another folder", ErrOutBusy, out, name)
		}
		held, herr := f.Stat()
		now, nerr := os.Stat(name)
		if herr == nil && nerr == nil && os.SameFile(held, now) {
			return func() error { return errors.Join(os.Remove(name), fsinfo.Unlock(f), f.Close()) }, nil
		}
		fsinfo.Unlock(f) // the holder removed it: try the one there now
		f.Close()
	}
	return nil, fmt.Errorf("%w: %s: its lock file %s kept changing", ErrOutBusy, out, name)
}

// isDir reports whether name is a folder (following a link, as the
// production's rename into it would).
func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}
