package produce

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
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
	dirs  map[string]*dirHandle
	files []fileRec
}

// fileRec is a written file as the manifest lists it, kept compact (a
// production lists hundreds of thousands).
type fileRec struct {
	path string
	sum  [sha256.Size]byte
	size int64
}

// prepareOut checks that out does not exist or is an empty folder and
// creates the temporary folder beside it.
func prepareOut(out string) (*outDir, error) {
	if out == "" {
		return nil, errors.New("produce: no output folder")
	}
	out = filepath.Clean(out)
	if err := placeable(out); err != nil {
		return nil, err
	}
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
	tmp, err := mkdirTemp(parent, tempPrefix(out), buildingSuffix)
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	return &outDir{final: out, tmp: tmp, dirs: map[string]*dirHandle{}}, nil
}

// ErrOutNotPlaceable: --out is a folder a production cannot be put in
// place at: a symbolic link, or a mount point.
var ErrOutNotPlaceable = errors.New("produce: the output folder cannot be replaced by the production")

// placeable refuses an existing out that the production, built in a
// folder beside it and renamed onto it, could not replace, before
// anything is written or recorded: a symbolic link (the link itself
// would be replaced by a local folder, and the folder it names left
// empty), or a mount point (a delivery drive, a share: the production
// would be built on the parent's file system, recorded, and its rename
// onto the mount point fail, run after run, with 'device or resource
// busy'). Neither is followed or built into: whoever gave it is told
// to give a new folder inside it.
func placeable(out string) error {
	fi, err := os.Lstat(out)
	if err != nil {
		return nil // absent (or unreadable: prepareOut says so)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		to, _ := os.Readlink(out)
		if to != "" && !filepath.IsAbs(to) {
			to = filepath.Join(filepath.Dir(out), to) // a relative link is read from its own folder
		}
		return fmt.Errorf("%w: %s is a symbolic link (to %s): give a new folder inside the folder it names, e.g. %s", ErrOutNotPlaceable, out, to,
			filepath.Join(to, "prod-001"))
	}
	if !fi.IsDir() {
		return nil
	}
	pfi, err := os.Stat(filepath.Dir(out))
	if err != nil {
		return nil
	}
	dev, ok := deviceOf(fi)
	pdev, pok := deviceOf(pfi)
	if ok && pok && dev != pdev {
		return fmt.Errorf("%w: %s is a mount point (another file system than the folder it is in): a production is built beside it and renamed onto it, which a mount point cannot be; give a new folder inside it, e.g. %s",
			ErrOutNotPlaceable, out, filepath.Join(out, "prod-001"))
	}
	return nil
}

// deviceOf is the device a file is on (ok false when the system does
// not say); a variable, so that a test can make a folder look like a
// mount point without mounting one (which takes root).
var deviceOf = fileDevice

// dirMode and fileMode are the modes of a production's folders — its top
// folder too — and files, less the umask, as for a report and the
// evidence store. A production is handed over as it is, to be read by
// whoever receives it: one mode for the whole tree, and who may read it
// here is decided by the folder it is written into (or the umask), not by
// a top folder that alone is private. (os.MkdirTemp made the top folder
// 0700 while everything in it was 0755 and 0644.)
const (
	dirMode  = 0o755
	fileMode = 0o644
)

// mkdirTemp is os.MkdirTemp with dirMode: a new folder named prefix,
// random hex and suffix in parent. Until the rename onto the output
// folder its dot name hides it.
func mkdirTemp(parent, prefix, suffix string) (string, error) {
	for range 100 {
		var b [8]byte
		rand.Read(b[:])
		name := filepath.Join(parent, prefix+hex.EncodeToString(b[:])+suffix)
		err := os.Mkdir(name, dirMode)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("no new temporary folder in %s", parent)
}

// dir returns the folder rel ("" for the top, "/"-separated), created
// on first use and kept open, so that each file is created by its name
// in the folder rather than by a path from the root.
func (o *outDir) dir(rel string) (*dirHandle, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := o.dirs[rel]; d != nil {
		return d, nil
	}
	name := filepath.Join(o.tmp, filepath.FromSlash(rel))
	if err := os.MkdirAll(name, dirMode); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	d, err := openDir(name)
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	o.dirs[rel] = d
	return d, nil
}

// write writes one file of the production (p is "/"-separated), in one
// write to a file it creates (O_EXCL), and records it for the manifest
// unless unlisted.
func (o *outDir) write(p string, data []byte, listed bool) error {
	if err := production.ValidPath(p); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	rel, base := path.Split(p)
	d, err := o.dir(strings.TrimSuffix(rel, "/"))
	if err != nil {
		return err
	}
	if err := d.create(base, data); err != nil {
		return fmt.Errorf("produce: write %s: %w", p, err)
	}
	if listed {
		f := fileRec{path: p, sum: sha256.Sum256(data), size: int64(len(data))}
		o.mu.Lock()
		o.files = append(o.files, f)
		o.mu.Unlock()
	}
	return nil
}

// writeFrom writes the file p as write does, from what fill writes to
// it, in pieces: for a file that is not held whole (heldLimit). It is
// hashed as it is written.
func (o *outDir) writeFrom(p string, listed bool, fill func(io.Writer) error) error {
	if err := production.ValidPath(p); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	rel, base := path.Split(p)
	d, err := o.dir(strings.TrimSuffix(rel, "/"))
	if err != nil {
		return err
	}
	f, err := d.open(base)
	if err != nil {
		return fmt.Errorf("produce: write %s: %w", p, err)
	}
	w := &hashWriter{w: f, h: sha256.New()}
	err = fill(w)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("produce: write %s: %w", p, err)
	}
	if listed {
		rec := fileRec{path: p, size: w.n}
		w.h.Sum(rec.sum[:0])
		o.mu.Lock()
		o.files = append(o.files, rec)
		o.mu.Unlock()
	}
	return nil
}

// writeAttachment writes the attachment a as the file p (listed).
func (o *outDir) writeAttachment(p string, a *attachment) error {
	if a.spill == nil {
		return o.write(p, a.data, true)
	}
	return o.writeFrom(p, true, func(w io.Writer) error {
		_, err := io.CopyBuffer(w, a.reader(), make([]byte, copyBufSize))
		return err
	})
}

// hashWriter writes to w, hashing and counting what it writes.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// sorted returns the files listed, in path order.
func (o *outDir) sorted() []fileRec {
	slices.SortFunc(o.files, func(a, b fileRec) int { return strings.Compare(a.path, b.path) })
	return o.files
}

// closeDirs closes the folders kept open.
func (o *outDir) closeDirs() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for _, d := range o.dirs {
		errs = append(errs, d.close())
	}
	o.dirs = map[string]*dirHandle{}
	return errors.Join(errs...)
}

// commit moves the temporary folder onto the output folder. Files are
// not fsynced one by one (a production is hundreds of thousands of
// files): a production lost to a crash is produced again, byte for byte,
// and verify --production finds one that is incomplete.
func (o *outDir) commit() error {
	if err := o.closeDirs(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	if err := os.Remove(o.final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("produce: %w", err) // not empty any more: someone wrote into it
	}
	if err := os.Rename(o.tmp, o.final); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// claim renames the temporary folder from .OUT.produce-HEX.building to
// .OUT.produce-HEX.entry-SEQ: the name of the production entry about to
// be appended (in the same write transaction). A folder so named whose
// entry SEQ is a production with its manifest's hash was recorded, and a
// rerun finishes it (resume); any other was not.
func (o *outDir) claim(seq uint64) error {
	if err := o.closeDirs(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	claimed := strings.TrimSuffix(o.tmp, buildingSuffix) + entryInfix + strconv.FormatUint(seq, 10)
	if err := os.Rename(o.tmp, claimed); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	o.tmp = claimed
	return nil
}

// abort removes the temporary folder.
func (o *outDir) abort() {
	o.closeDirs()
	os.RemoveAll(o.tmp)
}
