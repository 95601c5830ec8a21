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
	fd, err := fsinfo.IgnoringEINTR2(func() (int, error) {
		return syscall.Openat(d.fd, base, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, fileMode)
	})
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n, err := fsinfo.IgnoringEINTR2(func() (int, error) { return syscall.Write(fd, data) })
		if err == nil && n <= 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			syscall.Close(fd)
			return err
		}
		data = data[n:]
	}
	return syscall.Close(fd)
}

func (d *dirHandle) close() error { return syscall.Close(d.fd) }
