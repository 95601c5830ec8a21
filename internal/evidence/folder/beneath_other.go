//go:build !unix

package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
)

// errLink: a symbolic link is on the way to a name below the root.
var errLink = errors.New("a symbolic link below the store's root")

// noLinks checks that no folder on the way from the root to rel is a
// symbolic link. Without openat, the best this platform offers: a link
// swapped in after the check is not seen.
func (f *folder) noLinks(rel string) error {
	p := f.root
	parts := strings.Split(rel, "/")
	for _, part := range parts[:len(parts)-1] {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return &fs.PathError{Op: "open", Path: p, Err: errLink}
		}
	}
	return nil
}

func (f *folder) openRead(rel string, _ *hashchain.Hash) (*os.File, error) {
	if err := f.noLinks(rel); err != nil {
		return nil, err
	}
	fh, err := os.OpenFile(f.path(rel), openFlags, 0)
	if err != nil {
		return nil, err
	}
	if err := refuseLink(f.path(rel)); err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

func (f *folder) lstat(rel string) (fs.FileMode, error) {
	if err := f.noLinks(rel); err != nil {
		return 0, err
	}
	fi, err := os.Lstat(f.path(rel))
	if err != nil {
		return 0, err
	}
	return fi.Mode().Type(), nil
}

// stored: see beneath_unix.go; here always by the path from the root.
func (f *folder) stored(key string, _ hashchain.Hash) (fs.FileMode, func() (*os.File, error), error) {
	mode, err := f.lstat(key)
	return mode, func() (*os.File, error) { return f.openRead(key, nil) }, err
}

func (f *folder) remove(rel string, sync bool) error {
	if err := f.noLinks(rel); err != nil {
		return err
	}
	if err := os.Remove(f.path(rel)); err != nil {
		return err
	}
	if sync {
		return syncDir(f.path(path.Dir(rel)))
	}
	return nil
}

func (f *folder) isDir(rel string) error {
	if err := f.noLinks(rel + "/."); err != nil {
		return err
	}
	fi, err := os.Lstat(f.path(rel))
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a folder", f.path(rel))
	}
	return nil
}
