package fsinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LockHolder is what a lock file says about the process holding it.
type LockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

func (h LockHolder) String() string {
	cmd := h.Command
	if cmd == "" {
		cmd = "a custody command"
	}
	return fmt.Sprintf("%s (pid %d on %s, since %s)", cmd, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// HolderLock is a held lock file: an exclusive flock(2) on it, its content
// the holder's details, emptied on Release. The kernel lets the lock go
// when the process ends however it ends, so a lock file left by a dead
// process never blocks; the file is never removed (two processes could
// then lock two different files).
type HolderLock struct {
	f     *os.File
	Since time.Time // when it was taken
}

// LockWithHolder takes the lock file name (created if absent) for
// command, trying again every 50 ms until wait has passed (at once with
// wait 0). Held, it returns the lock; held by another process, a nil lock
// and that process's details (nil if it has not written them yet).
func LockWithHolder(name, command string, wait time.Duration) (*HolderLock, *LockHolder, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		locked, err := TryLock(f)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		if locked {
			break
		}
		if !time.Now().Before(deadline) {
			h := readHolder(f)
			f.Close()
			return nil, h, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	host, _ := os.Hostname()
	since := time.Now()
	b, err := json.Marshal(LockHolder{PID: os.Getpid(), Host: host, Command: command, Started: since.UTC()})
	if err == nil {
		err = f.Truncate(0)
	}
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		Unlock(f)
		f.Close()
		return nil, nil, err
	}
	return &HolderLock{f: f, Since: since}, nil, nil
}

// readHolder reads the holder's details, waiting briefly for a holder that
// has just taken the lock to write them.
func readHolder(f *os.File) *LockHolder {
	for range 20 {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			var h LockHolder
			if json.Unmarshal(b, &h) == nil {
				return &h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Release empties the lock file and lets the lock go; nil does nothing.
func (l *HolderLock) Release() error {
	if l == nil {
		return nil
	}
	err := l.f.Truncate(0)
	return errors.Join(err, Unlock(l.f), l.f.Close())
}
