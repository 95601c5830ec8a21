package fsinfo

import (
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError is OpenRegular's refusal of something other than a
// regular file.
type NotRegularError struct {
	Mode fs.FileMode // what it is
}

func (e *NotRegularError) Error() string { return "not a regular file" }

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
