package fsinfo

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError is OpenRegular's refusal of something other than a
// regular file.
type NotRegularError struct {
	Mode fs.FileMode // what it is
}

func (e *NotRegularError) Error() string {
	if e.Mode&fs.ModeSymlink != 0 {
		return "not a regular file: a symbolic link, not followed"
	}
	return "not a regular file"
}

// OpenRegular opens name below root for reading and refuses anything
// but a regular file (a *NotRegularError). It opens with O_NONBLOCK: a
// FIFO put where a file was listed would otherwise block the open until
// a writer came, for ever on a hostile export or production; on a
// regular file O_NONBLOCK changes nothing. fi is the open file's own
// (fstat), so a caller that needs it does not ask again.
func OpenRegular(root *os.Root, name string) (f *os.File, fi fs.FileInfo, err error) {
	f, err = root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err = f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Mode: fi.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadRegular reads the regular file name whole, refusing anything else
// (a *NotRegularError: /dev/zero, a FIFO, a directory) and a file of more
// than limit bytes, even one that grows while it is read: for files named
// on the command line or found in a folder handed over, which must not
// exhaust memory or block. A symbolic link to a regular file is read.
func ReadRegular(name string, limit int64) ([]byte, error) {
	return readRegular(name, limit, false)
}

// ReadRegularNoFollow is ReadRegular refusing a symbolic link too (a
// *NotRegularError of mode fs.ModeSymlink) instead of reading what it
// points to: for a file that must itself be in its folder, such as a
// production's manifest.json. Its one open decides, so a file swapped for
// a link or a FIFO after someone looked at it is refused, not followed or
// waited on. Only name's last element is not followed.
func ReadRegularNoFollow(name string, limit int64) ([]byte, error) {
	return readRegular(name, limit, true)
}

func readRegular(name string, limit int64, noFollow bool) ([]byte, error) {
	f, fi, err := openRegularFile(name, noFollow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: &TooLargeError{Limit: limit}}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: &TooLargeError{Limit: limit}}
	}
	return b, nil
}

// OpenRegularFile opens the file name for reading, as OpenRegular does
// below a root: non-blocking, and only if it is a regular file (a
// symbolic link to one is followed), for a file named on the command line
// that is read as a stream.
func OpenRegularFile(name string) (*os.File, fs.FileInfo, error) {
	return openRegularFile(name, false)
}

// openRegularFile is OpenRegularFile; with noFollow it refuses a
// symbolic link (O_NOFOLLOW where the system has it, see noFollowFlag).
func openRegularFile(name string, noFollow bool) (*os.File, fs.FileInfo, error) {
	flag := os.O_RDONLY | syscall.O_NONBLOCK
	if noFollow {
		flag |= noFollowFlag
	}
	f, err := os.OpenFile(name, flag, 0)
	if err != nil {
		if noFollow {
			// O_NOFOLLOW's refusal is ELOOP, EMLINK or EFTYPE depending
			// on the system: say what it was.
			if lerr := linkError(name); lerr != nil {
				return nil, nil, lerr
			}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "read", Path: name, Err: &NotRegularError{Mode: fi.Mode()}}
	}
	if err == nil && noFollow && noFollowFlag == 0 {
		err = linkError(name)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// linkError is the refusal of name when it is a symbolic link, else nil.
func linkError(name string) error {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return &fs.PathError{Op: "open", Path: name, Err: &NotRegularError{Mode: fi.Mode()}}
	}
	return nil
}

// TooLargeError is ReadRegular's refusal of a file over its limit.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string { return fmt.Sprintf("larger than %d bytes", e.Limit) }
