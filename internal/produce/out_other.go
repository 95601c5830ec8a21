//go:build !linux

package produce

import (
	"os"
	"path/filepath"
)

// dirHandle is a folder of the production (see out_linux.go).
type dirHandle struct{ name string }

func openDir(name string) (*dirHandle, error) { return &dirHandle{name: name}, nil }

// create creates base in d (it must not exist) holding data.
func (d *dirHandle) create(base string, data []byte) error {
	f, err := d.open(base)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// open creates base in d (it must not exist), to be written in pieces.
func (d *dirHandle) open(base string) (*os.File, error) {
	return os.OpenFile(filepath.Join(d.name, base), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
}

func (d *dirHandle) close() error { return nil }
