package produce

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/production"
)

// outDir is the folder a production is written into: a temporary
// sibling of the output folder, renamed onto it only when everything is
// written and recorded, so a failed production leaves nothing behind.
type outDir struct {
	final string
	tmp   string
	mu    sync.Mutex // the conversations are written in parallel
	dirs  map[string]bool
	files []production.File
}

// prepareOut checks that out does not exist or is an empty folder and
// creates the temporary folder beside it.
func prepareOut(out string) (*outDir, error) {
	if out == "" {
		return nil, errors.New("produce: no output folder")
	}
	out = filepath.Clean(out)
	if ents, err := os.ReadDir(out); err == nil {
		if len(ents) > 0 {
			return nil, fmt.Errorf("%w: %s holds %d entries; give a new or empty folder", ErrOutNotEmpty, out, len(ents))
		}
	} else if fi, serr := os.Stat(out); serr == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is a file", ErrOutNotEmpty, out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("produce: %w", err)
	}
	parent := filepath.Dir(out)
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("produce: the folder %s does not exist", parent)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".produce-")
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	return &outDir{final: out, tmp: tmp, dirs: map[string]bool{}}, nil
}

// write writes one file of the production (path is "/"-separated) and
// records it for the manifest unless unlisted.
func (o *outDir) write(path string, data []byte, listed bool) error {
	if err := production.ValidPath(path); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	name := filepath.Join(o.tmp, filepath.FromSlash(path))
	d := filepath.Dir(name)
	o.mu.Lock()
	if !o.dirs[d] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			o.mu.Unlock()
			return fmt.Errorf("produce: %w", err)
		}
		o.dirs[d] = true
	}
	o.mu.Unlock()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("produce: write %s: %w", path, err)
	}
	if listed {
		sum := sha256.Sum256(data)
		f := production.File{Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		o.mu.Lock()
		o.files = append(o.files, f)
		o.mu.Unlock()
	}
	return nil
}

// sorted returns the files listed, in path order.
func (o *outDir) sorted() []production.File {
	slices.SortFunc(o.files, func(a, b production.File) int { return strings.Compare(a.Path, b.Path) })
	return o.files
}

// commit moves the temporary folder onto the output folder. Files are
// not fsynced one by one (a production is hundreds of thousands of
// files): a production lost to a crash is produced again, byte for byte,
// and verify --production finds one that is incomplete.
func (o *outDir) commit() error {
	if err := os.Remove(o.final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("produce: %w", err) // not empty any more: someone wrote into it
	}
	if err := os.Rename(o.tmp, o.final); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// abort removes the temporary folder.
func (o *outDir) abort() { os.RemoveAll(o.tmp) }
