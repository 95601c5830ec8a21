package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// Scheme is the folder backend's URL scheme: file://DIR, or DIR alone.
const Scheme = evidence.FileScheme

// Backend opens folder stores with its one option.
type Backend struct {
	// Requests is how many reads and writes a store asks workers on many
	// objects to keep in flight (Parallelism): --folder-requests. When 0
	// it is chosen by the folder's file system (fsinfo.Requests): many on
	// a network share, where each open and read is a round trip; 1 on a
	// local disk, where each costs only CPU and the workers already use
	// every core.
	Requests int
}

// New returns the folder backend.
func New() *Backend { return &Backend{} }

func (*Backend) Scheme() string  { return Scheme }
func (*Backend) Example() string { return "DIR or file://DIR" }

// AddFlags declares --folder-requests.
func (b *Backend) AddFlags(fs *pflag.FlagSet) {
	fs.Var(evidence.RequestsFlag{N: &b.Requests, Auto: true}, "folder-requests",
		"reads and writes kept in flight on a folder store by work on many objects (verify, diff, report, export, erase), 1 to "+strconv.Itoa(evidence.MaxRequests)+"; auto: "+
			strconv.Itoa(fsinfo.DefaultRequests)+" on a network or FUSE file system (NFS, SMB, 9p, sshfs…), else as many as the work has workers")
}

// Normalize returns the absolute path of location (DIR or file://DIR):
// the form URL returns and ledgers record.
func (*Backend) Normalize(location string) (string, error) {
	dir := strings.TrimPrefix(location, Scheme+"://")
	if dir == "" {
		return "", fmt.Errorf("%w: empty path", evidence.ErrBadLocation)
	}
	return filepath.Abs(dir)
}

func (b *Backend) Open(_ context.Context, location string, opts evidence.Options) (evidence.Store, error) {
	return openStore(strings.TrimPrefix(location, Scheme+"://"), opts, b.Requests)
}

// tmpPrefix starts the names of files being written (evidence.TempPrefix);
// Walk skips them, Survey and Files name them, and evidence.ValidName
// refuses names starting with '.', so they never clash.
const tmpPrefix = evidence.TempPrefix

// folder is an evidence.Store in a local directory. Objects are written to a
// temporary file in their final directory, fsynced, made read-only and
// hard-linked into place (link fails if the name exists, so an existing
// object is never replaced), then the directory is fsynced. A batch
// (PutBatch) on Linux renames instead, with RENAME_NOREPLACE, which fails
// the same way and leaves no temporary name to remove.
type folder struct {
	root     string // absolute
	maxSize  int64
	requests int         // Parallelism: Backend.Requests, or chosen by the file system
	shards   shardDirs   // GetInto's open shard directories (shards_unix.go)
	noRename atomic.Bool // its file system has no renameat2 RENAME_NOREPLACE (link_linux.go)
}

// Open opens the folder store at dir (a path, without file://). Nothing is
// created until the first write. A folder cannot hold evidence under a
// legal hold: opts.LegalHold fails with evidence.ErrNoObjectLock.
// Its Parallelism is chosen by the folder's file system (Backend.Requests).
func Open(dir string, opts evidence.Options) (evidence.Store, error) {
	return openStore(dir, opts, 0)
}

func openStore(dir string, opts evidence.Options, requests int) (evidence.Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("evidence: open folder: %w: empty path", evidence.ErrBadLocation)
	}
	if opts.LegalHold {
		return nil, fmt.Errorf("evidence: open folder %s: %w", dir, evidence.ErrNoObjectLock)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: open folder %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Created on first write, so that read-only commands can open a
		// store that is yet to receive evidence without creating it.
	case err != nil:
		return nil, fmt.Errorf("evidence: open folder %s: %w", abs, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("evidence: open folder %s: %w: not a directory", abs, evidence.ErrBadLocation)
	}
	if requests <= 0 {
		requests = fsinfo.Requests(abs)
	}
	return &folder{root: abs, maxSize: opts.Limit(), requests: requests}, nil
}

// Parallelism implements evidence.Parallel.
func (f *folder) Parallelism() int { return f.requests }

func (f *folder) path(key string) string { return filepath.Join(f.root, filepath.FromSlash(key)) }

// RemoveTemp removes a temporary file of an unfinished write, by the
// name Survey gave it (evidence.TempRemover); one already gone is no
// error. Any other name is refused: it removes nothing custody keeps.
func (f *folder) RemoveTemp(ctx context.Context, name string) error {
	if err := f.usable(ctx); err != nil {
		return err
	}
	rel, ok := strings.CutPrefix(name, evidence.Dir+"/")
	if !ok || !evidence.IsTemp(name) || slices.Contains(strings.Split(rel, "/"), "..") || strings.Contains(name, "\\") {
		return fmt.Errorf("evidence: remove %q: %w: not a temporary file of the store", name, evidence.ErrBadName)
	}
	if err := f.remove(name, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("evidence: remove %s: %w", name, f.refused(name, err))
	}
	return nil
}

func (f *folder) URL() string { return f.root }

// Close closes the shard descriptors the store keeps (shards_unix.go):
// each once no lookup holds it. After it every operation fails with
// evidence.ErrClosed; one racing it completes, or fails so. A second
// Close does nothing.
func (f *folder) Close() error {
	f.shards.close()
	return nil
}

// usable is the error every operation starts with: evidence.ErrClosed
// after Close (misuse), or ctx's.
func (f *folder) usable(ctx context.Context) error {
	if f.shards.closed.Load() {
		return evidence.ErrClosed
	}
	return ctx.Err()
}

func (f *folder) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	if err := f.usable(ctx); err != nil {
		return evidence.Ref{}, fmt.Errorf("evidence: put: %w", err)
	}
	if int64(len(data)) > f.maxSize {
		return evidence.Ref{}, fmt.Errorf("evidence: put: %w: %d bytes, limit %d", evidence.ErrTooLarge, len(data), f.maxSize)
	}
	sum := hashchain.Hash(sha256.Sum256(data))
	ref := evidence.Ref{Sum: sum, Size: int64(len(data))}
	key := evidence.Key(sum)
	dst := f.path(key)
	if existed, err := f.checkExisting(key, sum); err != nil || existed {
		ref.Existed = existed
		return ref, wrapPut(key, err)
	}
	dir := filepath.Dir(dst)
	if err := f.mkdirs(dir); err != nil {
		return evidence.Ref{}, wrapPut(key, err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return evidence.Ref{}, wrapPut(key, err)
	}
	defer os.Remove(tmp) // after a link both names are the same inode
	if err := os.Link(tmp, dst); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return evidence.Ref{}, wrapPut(key, err)
		}
		// A concurrent Put of the same data won the race, or someone
		// else wrote there: find out which.
		existed, err := f.checkExisting(key, sum)
		ref.Existed = existed
		return ref, wrapPut(key, err)
	}
	if err := syncDir(dir); err != nil {
		return evidence.Ref{}, wrapPut(key, err)
	}
	return ref, nil
}

func wrapPut(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("evidence: put %s: %w", key, err)
}

// checkExisting reports whether key already holds data hashing to sum:
// (false, nil) if it is absent, (true, nil) if it matches, evidence.ErrCorrupt if
// it holds anything else or is reached through a symbolic link. The
// object is looked up where the store holds it now (stored): a write
// skipped for an object the store does not hold would leave it missing.
func (f *folder) checkExisting(key string, sum hashchain.Hash) (bool, error) {
	return f.checkStored(key, sum, f.stored)
}

// checkStored is checkExisting with the lookup given: PutBatch's goes
// through the batch's view of the shards (batchShards.stored).
func (f *folder) checkStored(key string, sum hashchain.Hash, stored func(string, hashchain.Hash) (fs.FileMode, func() (*os.File, error), error)) (bool, error) {
	mode, open, err := stored(key, sum)
	err = f.refused(key, err)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !mode.IsRegular() {
		return false, fmt.Errorf("%w: %s is not a regular file", evidence.ErrCorrupt, f.path(key))
	}
	got, err := hashOpened(open)
	if err != nil {
		return false, f.refused(key, err)
	}
	if got != sum {
		return false, fmt.Errorf("%w: %s holds data with sha256 %s", evidence.ErrCorrupt, f.path(key), got)
	}
	return true, nil
}

// hashOpened hashes the file open opens.
func hashOpened(open func() (*os.File, error)) (hashchain.Hash, error) {
	fh, err := open()
	if err != nil {
		return hashchain.Hash{}, err
	}
	defer fh.Close()
	d := sha256.New()
	if _, err := io.Copy(d, fh); err != nil {
		return hashchain.Hash{}, err
	}
	return hashchain.Hash(d.Sum(nil)), nil
}

// mkdirs creates dir and any missing parents below the store root, and
// fsyncs the parent of each directory it creates so that the new entry
// survives a crash along with the file put into it.
func (f *folder) mkdirs(dir string) error { return f.mkdirsSync(dir, nil) }

// mkdirsSync is mkdirs; given unsynced, it does not fsync the parents of
// the directories it creates but appends those parents to *unsynced: the
// caller makes them durable itself (PutBatch's syncfs, or an fsync each)
// before relying on them. The store root is always synced: it is created
// once, and its parent may be on another file system.
func (f *folder) mkdirsSync(dir string, unsynced *[]string) error {
	if err := f.dirThere(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	mkdir := os.Mkdir
	if dir == f.root {
		mkdir = os.MkdirAll // the user's path, parents and all
		unsynced = nil
	} else if err := f.mkdirsSync(filepath.Dir(dir), unsynced); err != nil {
		return err
	}
	if err := mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created concurrently
		}
		return err
	}
	if unsynced != nil {
		*unsynced = append(*unsynced, filepath.Dir(dir))
		return nil
	}
	return syncDir(filepath.Dir(dir))
}

// dirThere returns nil if dir, the store's root or a folder below it, is
// there, reached following no link below the root; an error wrapping
// fs.ErrNotExist if it is absent.
func (f *folder) dirThere(dir string) error {
	if dir == f.root {
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s: not a folder", dir)
		}
		return err
	}
	rel, err := filepath.Rel(f.root, dir)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	if err := f.isDir(rel); err != nil {
		return f.refused(rel, err)
	}
	return nil
}

// writeTemp writes data to a new read-only file in dir, fsynced, and
// returns its name.
func writeTemp(dir string, data []byte) (name string, err error) {
	fh, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	name = fh.Name()
	defer func() {
		if err != nil {
			fh.Close()
			os.Remove(name)
		}
	}()
	if _, err := fh.Write(data); err != nil {
		return "", err
	}
	if err := syncFile(fh); err != nil {
		return "", err
	}
	if err := fh.Chmod(0o444); err != nil {
		return "", err
	}
	return name, fh.Close()
}

// syncFile and syncDirFile are the fsyncs; tests count them.
var (
	syncFile    = (*os.File).Sync
	syncDirFile = (*os.File).Sync
)

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := syncDirFile(d); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

func (f *folder) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: get: %w", err)
	}
	b, err := f.readLimited(evidence.Key(sum), &sum)
	if err != nil {
		return nil, fmt.Errorf("evidence: get %s: %w", evidence.Key(sum), err)
	}
	return b, nil
}

// Open streams the object stored at sum (evidence.Opener), so that
// verification hashes it without holding it whole; the limits are Get's.
func (f *folder) Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: get: %w", err)
	}
	fh, _, err := f.openLimited(evidence.Key(sum), &sum)
	if err != nil {
		return nil, fmt.Errorf("evidence: get %s: %w", evidence.Key(sum), err)
	}
	return &limitedFile{f: fh, left: f.maxSize}, nil
}

// limitedFile reads a file that may grow while it is read: past left
// bytes, it fails with evidence.ErrTooLarge.
type limitedFile struct {
	f    *os.File
	left int64
}

func (l *limitedFile) Close() error { return l.f.Close() }

func (l *limitedFile) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: grew past the limit while it was read", evidence.ErrTooLarge)
	}
	return n, err
}

// openLimited opens rel (an object's key, with its sum; or a side file's
// name) if it is a regular file within the size limit, and returns its
// size. No symbolic link is followed below the root: one in rel's place or
// on the way to it is refused (refused).
func (f *folder) openLimited(rel string, sum *hashchain.Hash) (*os.File, int64, error) {
	fh, err := f.openRead(rel, sum)
	if err != nil {
		return nil, 0, f.refused(rel, err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		return nil, 0, fmt.Errorf("%w: not a regular file", evidence.ErrCorrupt)
	}
	if fi.Size() > f.maxSize {
		fh.Close()
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", evidence.ErrTooLarge, fi.Size(), f.maxSize)
	}
	return fh, fi.Size(), nil
}

// refused returns err, the failure to reach rel (a store-relative name)
// following no link below the root, as evidence.ErrCorrupt when a
// symbolic link is in rel's place or on the way to it: what it points at
// is not in the store. The error of the open itself depends on the
// system (ELOOP, ENOTDIR, EMLINK, EFTYPE), so the names are looked at.
// An absent name is not looked into: no link was met on the way to it.
// A file (anything but a folder or a link) where a folder on the way
// should be, sha256 or a shard, fails the open with ENOTDIR: nothing can
// be at rel, so it is absent (fs.ErrNotExist), missing and not
// unreadable: else whoever deletes the objects and puts a file at
// sha256 would turn their absence into a check that could not be made
// (review-commits7 M4).
func (f *folder) refused(rel string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, evidence.ErrClosed) {
		return err
	}
	p := f.root
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, lerr := os.Lstat(p)
		if lerr != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if i < len(parts)-1 && !fi.IsDir() && errors.Is(err, syscall.ENOTDIR) {
				return fmt.Errorf("%w: %s is not a folder, so %s cannot be there", fs.ErrNotExist, strings.Join(parts[:i+1], "/"), rel)
			}
			continue
		}
		if i == len(parts)-1 {
			return fmt.Errorf("%w: not a regular file (a symbolic link)", evidence.ErrCorrupt)
		}
		return fmt.Errorf("%w: reached through a symbolic link, %s, which the store does not follow: not read", evidence.ErrCorrupt, strings.Join(parts[:i+1], "/"))
	}
	return err
}

func (f *folder) readLimited(rel string, sum *hashchain.Hash) ([]byte, error) {
	fh, size, err := f.openLimited(rel, sum)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead) // + MinRead: ReadFrom grows before it sees EOF
	// The size may change under us; the limit holds regardless.
	if _, err := buf.ReadFrom(io.LimitReader(fh, f.maxSize+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > f.maxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", evidence.ErrTooLarge, f.maxSize)
	}
	return buf.Bytes(), nil
}

// Delete removes the object's file and fsyncs its directory, so that the
// removal survives a crash. A folder keeps no versions and no locks.
func (f *folder) Delete(ctx context.Context, sum hashchain.Hash) error {
	if err := f.usable(ctx); err != nil {
		return fmt.Errorf("evidence: delete: %w", err)
	}
	key := evidence.Key(sum)
	if err := f.refused(key, f.remove(key, true)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("evidence: delete %s: %w", key, err)
	}
	return nil
}

func (f *folder) Exists(ctx context.Context, sum hashchain.Hash) (bool, error) {
	if err := f.usable(ctx); err != nil {
		return false, fmt.Errorf("evidence: exists: %w", err)
	}
	_, _, err := f.stored(evidence.Key(sum), sum)
	err = f.refused(evidence.Key(sum), err)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("evidence: exists %s: %w", evidence.Key(sum), err)
	}
	return true, nil
}

func (f *folder) Walk(ctx context.Context, fn func(hashchain.Hash) error) error {
	return f.Survey(ctx, fn, nil)
}

func (f *folder) Survey(ctx context.Context, objects func(hashchain.Hash) error, strays func(string) error) error {
	if err := f.usable(ctx); err != nil {
		return fmt.Errorf("evidence: walk %s: %w", f.root, err)
	}
	if _, err := os.Stat(f.root); err != nil {
		return fmt.Errorf("evidence: walk %s: %w", f.root, err)
	}
	if err := f.walk(ctx, objects, strays); err != nil {
		return fmt.Errorf("evidence: walk %s: %w", f.root, err)
	}
	return nil
}

// walk reads the shard directories, sha256/00 … sha256/ff, in order, and
// calls fn with every file in one whose name is the key of an address
// (evidence.Key: lower-case hex, in its own shard). Everything else under
// sha256/ — a crash's temporary files, other names, files in a directory
// that is no shard, a link where a shard should be — is not evidence:
// strays is called with its name when it is not nil (Survey), and it is
// skipped otherwise (Walk). Names are read sorted, so addresses come in
// ascending order. Only the two levels keys have are read (and, for
// strays, what a directory that is not custody's holds), and each name
// is checked in place (verify walks every object of a store: the
// generic walk built and re-parsed each path, half of the walk's cost).
func (f *folder) walk(ctx context.Context, fn func(hashchain.Hash) error, strays func(string) error) error {
	top := f.path(evidence.Dir)
	if fi, err := os.Lstat(top); err == nil && !fi.IsDir() {
		return nil // not followed: Files names it
	}
	shards, err := os.ReadDir(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a store with side files but no evidence yet
	}
	if err != nil {
		return err
	}
	stray := func(rel string, e fs.DirEntry) error {
		if strays == nil {
			return nil
		}
		return foreign(ctx, filepath.Join(top, filepath.FromSlash(rel)), evidence.Dir+"/"+rel, e, strays)
	}
	var objs []hashchain.Hash
	for _, sd := range shards {
		var shard [1]byte
		if !sd.IsDir() || !lowerHex(sd.Name(), shard[:]) {
			if err := stray(sd.Name(), sd); err != nil {
				return err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var others []fs.DirEntry
		objs, others, err = readShard(filepath.Join(top, sd.Name()), shard[0], objs[:0])
		if err != nil {
			return err
		}
		for _, sum := range objs {
			if err := fn(sum); err != nil {
				return err
			}
		}
		for _, o := range others {
			if err := stray(sd.Name()+"/"+o.Name(), o); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortShard puts what readShard found of a shard in order: the objects
// (each a file, or a link, whose name is the key of an address in the
// shard) by address, then every other entry by name.
func sortShard(objs []hashchain.Hash, others []fs.DirEntry) {
	slices.SortFunc(objs, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(others, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

// foreign calls fn with name (the store-relative name of e, at path p)
// when e is not a directory, and else with the names of the files the
// directory holds, at any depth, in sorted order. Links are named, not
// followed; an empty directory names nothing.
func foreign(ctx context.Context, p, name string, e fs.DirEntry, fn func(string) error) error {
	if !e.IsDir() {
		return fn(name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, c := range ents {
		if err := foreign(ctx, filepath.Join(p, c.Name()), name+"/"+c.Name(), c, fn); err != nil {
			return err
		}
	}
	return nil
}

// Files names every file beside sha256/: it reads the store's top
// directory and every directory in it but sha256/.
func (f *folder) Files(ctx context.Context, fn func(string) error) error {
	if err := f.usable(ctx); err != nil {
		return fmt.Errorf("evidence: list files %s: %w", f.root, err)
	}
	ents, err := os.ReadDir(f.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created on first write
	}
	if err == nil {
		for _, e := range ents {
			if e.Name() == evidence.Dir && e.IsDir() {
				continue
			}
			if err = foreign(ctx, filepath.Join(f.root, e.Name()), e.Name(), e, fn); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("evidence: list files %s: %w", f.root, err)
	}
	return nil
}

// lowerHex decodes name into out when it is exactly out's bytes in
// lower-case hex (the one spelling evidence.Key writes), in one pass.
func lowerHex[S ~string | ~[]byte](name S, out []byte) bool {
	if len(name) != 2*len(out) {
		return false
	}
	for i := range out {
		hi, lo := lowerNibble[name[2*i]], lowerNibble[name[2*i+1]]
		if hi|lo > 0xf {
			return false
		}
		out[i] = hi<<4 | lo
	}
	return true
}

// lowerNibble is a lower-case hex digit's value; 0xff for any other byte.
var lowerNibble = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

func (f *folder) PutFile(ctx context.Context, name string, data []byte) error {
	if err := f.usable(ctx); err != nil {
		return fmt.Errorf("evidence: put file: %w", err)
	}
	if err := evidence.ValidName(name); err != nil {
		return fmt.Errorf("evidence: put file: %w", err)
	}
	if int64(len(data)) > f.maxSize {
		return fmt.Errorf("evidence: put file %s: %w: %d bytes, limit %d", name, evidence.ErrTooLarge, len(data), f.maxSize)
	}
	dst := f.path(name)
	dir := filepath.Dir(dst)
	if err := f.mkdirs(dir); err != nil {
		return fmt.Errorf("evidence: put file %s: %w", name, err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("evidence: put file %s: %w", name, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("evidence: put file %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("evidence: put file %s: %w", name, err)
	}
	return nil
}

func (f *folder) GetFile(ctx context.Context, name string) ([]byte, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: get file: %w", err)
	}
	if err := evidence.ValidName(name); err != nil {
		return nil, fmt.Errorf("evidence: get file: %w", err)
	}
	b, err := f.readLimited(name, nil)
	if err != nil {
		return nil, fmt.Errorf("evidence: get file %s: %w", name, err)
	}
	return b, nil
}

// RemoveStaleTemps removes the temporary files of unfinished writes
// (tmpPrefix) last modified before before: in the shard folders and in
// the side files' folders (PutFile), the two levels below the root where
// writes make them (evidence.StaleTempRemover). Folders are read
// unsorted and only names starting with tmpPrefix are looked at.
func (f *folder) RemoveStaleTemps(ctx context.Context, before time.Time) ([]string, error) {
	if err := f.usable(ctx); err != nil {
		return nil, fmt.Errorf("evidence: remove temporary files in %s: %w", f.root, err)
	}
	var removed []string
	var sweep func(dir, rel string, depth int) error
	sweep = func(dir, rel string, depth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := os.Open(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created on first write
		}
		if err != nil {
			return err
		}
		ents, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := path.Join(rel, e.Name())
			switch {
			case e.IsDir() && depth > 0:
				if err := sweep(filepath.Join(dir, e.Name()), name, depth-1); err != nil {
					return err
				}
			case e.Type().IsRegular() && strings.HasPrefix(e.Name(), tmpPrefix):
				fi, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
				if !fi.ModTime().Before(before) {
					continue
				}
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
				removed = append(removed, name)
			}
		}
		return nil
	}
	if err := sweep(f.root, "", 2); err != nil {
		return removed, fmt.Errorf("evidence: remove temporary files in %s: %w", f.root, err)
	}
	slices.Sort(removed)
	return removed, nil
}
