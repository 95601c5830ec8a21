package produce

import (
	"io"
	"os"
	"syscall"

	"github.com/custodyhq/custody/internal/fsinfo"
)

// dirHandle is an open folder of the production; files are created in it
// with openat(2) and written with one write(2), without os.File's
// poller registration (one more system call a file, refused for regular
// files anyway): a production creates a file per message.
type dirHandle struct{ fd int }

func openDir(name string) (*dirHandle, error) {
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return syscall.Open(name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &dirHandle{fd: fd}, nil
}

// create creates base in d (it must not exist) holding data.
func (d *dirHandle) create(base string, data []byte) error {
	f, err := d.open(base)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// open creates base in d (it must not exist), to be written in pieces.
func (d *dirHandle) open(base string) (fdFile, error) {
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return syscall.Openat(d.fd, base, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, fileMode)
	})
	return fdFile(fd), err
}

// fdFile is a file open for writing by its descriptor.
type fdFile int

func (f fdFile) Write(data []byte) (int, error) {
	total := len(data)
	for len(data) > 0 {
		n, err := fsinfo.IgnoringEINTR2(func() (int, error) { return syscall.Write(int(f), data) })
		if err == nil && n <= 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total - len(data), err
		}
		data = data[n:]
	}
	return total, nil
}

func (f fdFile) Close() error { return syscall.Close(int(f)) }

func (d *dirHandle) close() error { return syscall.Close(d.fd) }
