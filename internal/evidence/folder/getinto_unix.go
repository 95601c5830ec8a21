//go:build unix

package folder

import (
	"context"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// GetInto is Get reading the object into buf (grown when too small) for
// a caller that reads many small objects in turn — the diff opens one v3
// opening per captured message. Same limits and errors as Get (a regular
// file only, at most the store's size limit however it grows while read,
// absent objects fs.ErrNotExist), with the system calls made directly:
// no *os.File, so no poller registration, finalizer or buffer per object.
func (f *folder) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: get: %w", err)
	}
	key := evidence.Key(sum)
	b, err := f.readInto(sum, key, buf[:0])
	if err != nil {
		return nil, fmt.Errorf("evidence: get %s: %w", key, err)
	}
	return b, nil
}

func (f *folder) readInto(sum hashchain.Hash, key string, b []byte) ([]byte, error) {
	fd, err := f.openObject(sum, key)
	if err != nil {
		return nil, f.refused(key, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: f.path(key), Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, fmt.Errorf("%w: not a regular file", evidence.ErrCorrupt)
	}
	if st.Size > f.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", evidence.ErrTooLarge, st.Size, f.maxSize)
	}
	// Room for the whole file and one byte more, to see EOF (or growth)
	// in the same read.
	if need := int(st.Size) + 1; cap(b) < need {
		b = make([]byte, 0, need)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		room := b[len(b):cap(b)]
		if left := f.maxSize + 1 - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := read(fd, room)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: f.path(key), Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
		if int64(len(b)) > f.maxSize {
			return nil, fmt.Errorf("%w: more than %d bytes", evidence.ErrTooLarge, f.maxSize)
		}
		if n < len(room) {
			// A regular file (checked above) reads short only at its
			// end: no second read to see EOF (one system call in four
			// per object).
			return b, nil
		}
	}
}

// fstat and read retry on EINTR, as the os package does.
func fstat(fd int, st *syscall.Stat_t) error {
	return fsinfo.IgnoringEINTR(func() error { return syscall.Fstat(fd, st) })
}

func read(fd int, p []byte) (int, error) {
	n, err := fsinfo.IgnoringEINTR2(func() (int, error) { return syscall.Read(fd, p) })
	return max(n, 0), err
}
