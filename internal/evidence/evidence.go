package evidence

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/s3util"
)

// Errors callers match with errors.Is. Absent objects match fs.ErrNotExist.
var (
	// ErrCorrupt: the store holds different bytes (or not a regular object)
	// at the address of the data being written. Nothing was overwritten;
	// the store has been tampered with or damaged and needs a person.
	ErrCorrupt = errors.New("stored object does not match its address")
	// ErrTooLarge: an object is over the store's size limit
	// (Options.MaxSize). It is s3util.ErrTooLarge, so either matches.
	ErrTooLarge = s3util.ErrTooLarge
	// ErrBadName: a side-file name is not a clean relative path of safe
	// characters, or would land among the evidence objects.
	ErrBadName = errors.New("bad side-file name")
	// ErrBadLocation: the store location is malformed, or names a scheme
	// no backend of the registry opens (ErrUnknownScheme).
	ErrBadLocation = errors.New("bad evidence store location")
	// ErrUnknownScheme: the location's URL scheme is not one the registry
	// knows. It matches ErrBadLocation too.
	ErrUnknownScheme = fmt.Errorf("%w: unknown scheme", ErrBadLocation)
	// ErrReadOnly: a write to a store opened read-only (ReadOnly).
	ErrReadOnly = errors.New("evidence store is open read-only")
	// ErrNoObjectLock: legal hold was asked for, but the store cannot
	// place one (a folder, or a bucket created without Object Lock).
	ErrNoObjectLock = errors.New("legal hold needs an s3 bucket with object lock enabled")
	// ErrLocked: Delete was refused for an object the store must keep (an
	// S3 Object Lock legal hold or retention period). Nothing of it was
	// deleted, or, for a versioned object, not the locked versions.
	ErrLocked = errors.New("object is under s3 object lock (legal hold or retention)")
	// ErrClosed: an operation on a store after its Close (misuse), or
	// racing it: refused, nothing read or written. An operation that
	// began before Close either completes or fails with it.
	ErrClosed = errors.New("evidence store closed")
)

// DefaultMaxSize bounds one evidence object when Options.MaxSize is 0. Raw
// API responses are far smaller; the limit keeps a damaged or hostile store
// from making a reader allocate without bound.
const DefaultMaxSize = 256 << 20

// Dir is the top-level folder (or key segment) that holds evidence objects.
const Dir = "sha256"

// TempPrefix starts the last segment of the name of a file a backend is
// still writing (a folder writes each object and side file under such a
// name and renames or links it into place once it is durable). ValidName
// refuses such names, so they never clash with side files; a crash can
// leave one behind, which names nothing.
const TempPrefix = ".tmp-"

// Ref says what Put stored.
type Ref struct {
	Sum     hashchain.Hash // SHA-256 of the data: its address
	Size    int64
	Existed bool // the identical object was already stored; nothing was written
}

// Store is a content-addressed evidence store. Implementations are safe for
// concurrent use.
type Store interface {
	// Put stores data at the address of its SHA-256 and returns when it is
	// durable (fsynced, or acknowledged by S3 with a verified checksum).
	// Storing data that is already present succeeds with Ref.Existed set;
	// different bytes at that address fail with ErrCorrupt.
	Put(ctx context.Context, data []byte) (Ref, error)
	// Get returns the object stored at sum, or an error matching
	// fs.ErrNotExist. It does not re-hash (Verify does, and GetChecked); it refuses
	// objects over the size limit with ErrTooLarge.
	Get(ctx context.Context, sum hashchain.Hash) ([]byte, error)
	// Exists reports whether an object is stored at sum.
	Exists(ctx context.Context, sum hashchain.Hash) (bool, error)
	// Walk calls fn with the address of every stored evidence object, in
	// ascending order of address; an error from fn stops the walk and is
	// returned. Names that are not evidence addresses (side files,
	// leftover temporary files) are skipped.
	Walk(ctx context.Context, fn func(sum hashchain.Hash) error) error
	// Survey is the walk of an audit, which names what Walk skips:
	// objects is called as Walk calls fn and, interleaved with it,
	// strays (when not nil) with the store-relative, "/"-separated name
	// of every other file under Dir — a temporary file of an unfinished
	// write (its last segment starts with TempPrefix), a name that is
	// not an address or is in another address's shard, anything in a
	// directory that is no shard, a link or directory where an object
	// should be (the files a directory holds are named, not the
	// directory; an empty directory holds nothing and is not named).
	// An error from either stops the walk and is returned.
	Survey(ctx context.Context, objects func(sum hashchain.Hash) error, strays func(name string) error) error
	// Files calls fn with the store-relative, "/"-separated name of
	// every file outside Dir: the side files PutFile wrote, and anything
	// else there (temporary files, files custody never writes), in no
	// particular order. It reads only what is beside Dir, never the
	// objects. An error from fn stops it and is returned.
	Files(ctx context.Context, fn func(name string) error) error
	// PutFile stores a named side file beside the evidence, such as
	// "checkpoints/42.note", replacing any earlier file of that name. The
	// name is a "/"-separated relative path (see ValidName).
	PutFile(ctx context.Context, name string, data []byte) error
	// GetFile reads a side file written by PutFile (fs.ErrNotExist if
	// absent), subject to the same size limit as Get.
	GetFile(ctx context.Context, name string) ([]byte, error)
	// Delete removes the object stored at sum for custody erase, with
	// every version the store keeps of it, and returns when that is
	// durable. Deleting an absent object succeeds. An object (or version)
	// the store must keep — an S3 Object Lock legal hold or retention —
	// is left, and the error matches ErrLocked. Nothing but erase
	// deletes evidence.
	Delete(ctx context.Context, sum hashchain.Hash) error
	// URL is the store's location in canonical form: what its backend's
	// Normalize returns, and what a Registry opens again.
	URL() string
	// Close releases the store's resources.
	Close() error
}

// Locker is a Store that can place and lift a legal hold on one object
// (S3 Object Lock): custody hold and custody release use it when the
// store is one. SetLegalHold fails with ErrNoObjectLock when the bucket
// has no Object Lock.
type Locker interface {
	SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error
}

// Options are what every backend honours, whatever its kind. Options
// that only make sense for one kind of store (an S3 endpoint, a
// credentials profile) belong to that backend's package instead.
type Options struct {
	// LegalHold asks for a legal hold on every object written, so that
	// nobody can delete or replace it while the matter is open. A backend
	// that cannot place one (a folder, or a bucket created without S3
	// Object Lock) fails to open with ErrNoObjectLock rather than store
	// evidence without the hold the caller asked for.
	LegalHold bool
	// MaxSize is the largest object Put accepts and Get returns;
	// DefaultMaxSize when 0.
	MaxSize int64
}

// Limit is the size limit o asks for: MaxSize, or DefaultMaxSize when 0.
func (o Options) Limit() int64 {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return DefaultMaxSize
}

// Key is the store-relative key (folder path with "/" separators) of the
// object with the given SHA-256: "sha256/<2 hex>/<64 hex>".
func Key(sum hashchain.Hash) string {
	// Written into one buffer (a verify asks for every object's key).
	var b strings.Builder
	b.Grow(len(Dir) + 2 + 2 + 2*hashchain.HashSize)
	b.WriteString(Dir)
	b.WriteByte('/')
	var hx [2 * hashchain.HashSize]byte
	hex.Encode(hx[:], sum[:])
	b.Write(hx[:2])
	b.WriteByte('/')
	b.Write(hx[:])
	return b.String()
}

// ParseKey is the inverse of Key; ok is false for anything that is not
// exactly the key of some sum (wrong shard, upper-case hex, extra parts).
// Backends use it to skip what is not evidence when they walk.
func ParseKey(key string) (hashchain.Hash, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || parts[0] != Dir || len(parts[2]) != 2*hashchain.HashSize {
		return hashchain.Hash{}, false
	}
	sum, err := hashchain.ParseHash(parts[2])
	if err != nil || Key(sum) != key {
		return hashchain.Hash{}, false
	}
	return sum, true
}

// ValidName checks a side-file name for PutFile: "/"-separated segments of
// letters, digits, '.', '_' and '-', none empty, none starting with '.'
// (which also rules out "." and ".."; temporary files start with '.'), at
// most 512 bytes, and not under the evidence directory.
func ValidName(name string) error {
	if name == "" || len(name) > 512 {
		return fmt.Errorf("%w: %q: want 1 to 512 bytes", ErrBadName, name)
	}
	segs := strings.Split(name, "/")
	if segs[0] == Dir {
		return fmt.Errorf("%w: %q: %s/ holds the evidence itself", ErrBadName, name, Dir)
	}
	for _, seg := range segs {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("%w: %q: empty segment or segment starting with '.'", ErrBadName, name)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q: character %q", ErrBadName, name, c)
			}
		}
	}
	// Belt and braces: the rules above already imply a clean, local path.
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("%w: %q: not a local path", ErrBadName, name)
	}
	return nil
}
