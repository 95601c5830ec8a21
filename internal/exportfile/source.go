package exportfile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/s3util"
)

// Source is where an export lives: a folder or an S3 prefix.
type Source interface {
	// String is the location as the user gave it.
	String() string
	// Walk calls fn for every file under the root, in lexical order of
	// Entry.Name. Entries that must not be opened carry a Problem.
	Walk(ctx context.Context, fn func(Entry) error) error
	// Open opens an entry Walk returned (without a Problem).
	Open(ctx context.Context, e Entry) (io.ReadCloser, error)
}

// Entry is one file of an export.
type Entry struct {
	// Name is the path relative to the root, "/"-separated, as shown in
	// reports (SafeDisplay: control characters and \ escaped).
	Name string
	// Size in bytes, as listed.
	Size int64
	// Problem, when set, says why the entry is not opened (an unsafe name,
	// a symbolic link, not a regular file); it becomes a file_unreadable finding.
	Problem string

	raw  string        // the path as it is, when Name escapes it (RawName)
	file io.ReadCloser // DirSource: opened by Walk, handed over by Open
	path string        // DirSource on a share: the path Open opens, below the root
}

// RawName is the path relative to the root as it is, where Name is how
// it is shown: the conversation id a name gives is read from it, so that
// two names that differ are never taken for one.
func (e Entry) RawName() string {
	if e.raw != "" {
		return e.raw
	}
	return e.Name
}

// Release closes a file Walk opened for an entry that will not be read
// (Open hands the file over otherwise).
func (e Entry) Release() {
	if e.file != nil {
		e.file.Close()
	}
}

// SourceConfig says how NewSource reaches an export.
type SourceConfig struct {
	// S3 reaches an s3:// export.
	S3 s3util.Config
	// FolderRequests is how many files of a folder export a reader keeps
	// in flight (DirSource's Parallelism); when 0, chosen by the folder's
	// file system (fsinfo.Requests).
	FolderRequests int
}

// NewSource opens an export location: "s3://bucket/prefix" or a folder,
// reached as cfg says.
func NewSource(ctx context.Context, loc string, cfg SourceConfig) (Source, error) {
	if strings.HasPrefix(loc, s3util.Scheme) {
		bucket, prefix, err := s3util.ParseURL(loc)
		if err != nil {
			return nil, fmt.Errorf("exportfile: open %s: %w: %w", loc, ErrBadSource, err)
		}
		c, err := s3util.NewClient(ctx, cfg.S3)
		if err != nil {
			return nil, fmt.Errorf("exportfile: open %s: %w", loc, err)
		}
		src := NewS3Source(c, bucket, prefix)
		src.requests = cfg.S3.InFlight()
		return src, nil
	}
	d, err := NewDirSource(loc)
	if err != nil {
		return nil, err
	}
	if cfg.FolderRequests > 0 {
		d.requests = cfg.FolderRequests
	}
	return d, nil
}

// MaxFolderDepth is how many folders deep below its root an export folder
// is walked (Genesys's layout uses about 7). A folder deeper still is one
// entry with a Problem, not descended: each level of the walk holds an
// open folder and its path, so an export nested thousands deep would
// otherwise take memory with the square of its depth and run out of file
// descriptors.
const MaxFolderDepth = 64

// maxNameDisplay is how long a name shown in a Problem-bearing entry for
// a folder too deep may be; a longer one keeps its start and end.
const maxNameDisplay = 256

// DirSource reads an export from a folder. Every folder and file is
// opened below its parent, one name at a time and never through a
// symbolic link (folder): no name or link can reach outside the folder.
type DirSource struct {
	dir  string
	root *os.Root
	// requests is Parallelism: above 1 (a network share), Walk leaves
	// each file for Open to open, so that readers open many at once.
	requests int
	// portable makes Walk use the os.Root walk (rootFolder) where the
	// descriptor walk would run: the tests compare the two.
	portable bool
}

// NewDirSource opens dir, which must be a folder. Its Parallelism is
// chosen by the folder's file system (fsinfo.Requests).
func NewDirSource(dir string) (*DirSource, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("exportfile: open %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("exportfile: open %s: %w: not a folder", dir, ErrBadSource)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("exportfile: open %s: %w", dir, err)
	}
	return &DirSource{dir: dir, root: root, requests: fsinfo.Requests(dir)}, nil
}

func (d *DirSource) String() string { return d.dir }

// Parallelism is how many files a reader of the export keeps in flight
// (ParallelSource): 1 on a local disk, where opening a file costs only
// CPU; many on a network share, where each open and read is a round trip.
func (d *DirSource) Parallelism() int { return d.requests }

// Close releases the folder.
func (d *DirSource) Close() error { return d.root.Close() }

// Walk lists regular files in the lexical order of their full names (the
// order S3 lists keys in, so a folder and a bucket holding the same export
// give the same findings). Symbolic links and special files are reported
// with a Problem and never followed. Each folder is opened once, below the
// previous one and never through a symbolic link, and each file is opened
// as it is listed (one openat relative to its folder): the Entry carries
// the open file, which Open hands over. On a network share (Parallelism
// above 1) the file is left for Open, which opens it by its path below
// the folder's root (still never outside it), so that the readers' opens
// overlap instead of the walk's waiting one round trip at a time.
//
// Every folder is opened below the last (folder): an os.Root, or on
// Linux a bare descriptor.
func (d *DirSource) Walk(ctx context.Context, fn func(Entry) error) error {
	top, err := d.top()
	if err != nil {
		return fmt.Errorf("exportfile: walk %s: %w", d.dir, err)
	}
	defer top.close()
	ents, err := top.list()
	if err != nil {
		return fmt.Errorf("exportfile: walk %s: %w", d.dir, err)
	}
	var w walker
	if d.requests > 1 {
		w.slots = make(chan struct{}, d.requests)
		w.held = make(chan struct{}, aheadPerRequest*d.requests)
	}
	return d.walk(ctx, &w, top, "", 1, ents, fn)
}

// aheadPerRequest bounds the subfolders a walk on a share holds listed
// ahead, over all its levels, per request in flight: with the one folder
// open per level (at most MaxFolderDepth), it bounds the walk's open
// descriptors.
const aheadPerRequest = 8

// walker is what every level of a walk on a share shares: slots, the
// listings in flight, and held, the subfolders listed ahead and not yet
// walked (each an open folder). Both are nil on a local disk.
type walker struct {
	slots, held chan struct{}
}

// subListing is a subfolder opened and listed ahead of the walk (on a
// share, where each is a round trip); done is closed when it is.
type subListing struct {
	done    chan struct{}
	dir     folder
	ents    []dirent
	openErr error
	listErr error
}

// list opens and lists the subfolder name of dir, holding one of slots
// (the requests in flight) meanwhile.
func (l *subListing) list(dir folder, name string, slots chan struct{}) {
	defer close(l.done)
	slots <- struct{}{}
	defer func() { <-slots }()
	if l.dir, l.openErr = dir.sub(name); l.openErr == nil {
		l.ents, l.listErr = l.dir.list()
	}
}

// walk reports ents, the entries of dir (rel below the root, depth
// folders deep, the root's entries at depth 1), in key order, and walks
// into each subfolder up to MaxFolderDepth. On a share (w.slots), the
// next few subfolders — as many as slots holds, while w.held has room —
// are opened and listed ahead, on goroutines of their own, while the walk
// goes on in order: the findings do not depend on it, only the waiting
// does.
func (d *DirSource) walk(ctx context.Context, w *walker, dir folder, rel string, depth int, ents []dirent, fn func(Entry) error) error {
	slots := w.slots
	// Sorting "name/" for folders puts "a.json" before "a/…", as in S3.
	slices.SortFunc(ents, compareDirents)
	var ahead []*subListing // by index in ents, for subfolders listed ahead
	next, inFlight := 0, 0  // the next entry to look ahead at; listings started and not yet walked
	if slots != nil {
		ahead = make([]*subListing, len(ents))
		defer func() { // on an early return, what was listed ahead is closed
			for _, l := range ahead {
				if l != nil {
					<-l.done
					if l.dir != nil {
						l.dir.close()
					}
					<-w.held
				}
			}
		}()
	}
	lookAhead := func(k int) {
		if depth > MaxFolderDepth { // its subfolders are not walked
			return
		}
		next = max(next, k) // behind only if held was full
		for ; slots != nil && next < len(ents) && inFlight < cap(slots); next++ {
			if ents[next].IsDir() {
				select {
				case w.held <- struct{}{}:
				default: // enough held: this one is listed when walked
					return
				}
				l := &subListing{done: make(chan struct{})}
				ahead[next], inFlight = l, inFlight+1
				go l.list(dir, ents[next].name, slots)
			}
		}
	}
	for k, de := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		lookAhead(k)
		name := de.name
		full := name
		if rel != "" {
			full = rel + "/" + name
		}
		e := Entry{Name: SafeDisplay(full)}
		if e.Name != full {
			e.raw = full
		}
		switch t := de.typ; {
		case t.IsDir() && depth > MaxFolderDepth:
			e.Name, e.raw = shortDisplay(e.Name), full // the id is read from the whole name
			e.Problem = fmt.Sprintf("folder more than %d deep below the export's root: not read", MaxFolderDepth)
		case t.IsDir():
			var sub folder
			var subEnts []dirent
			var openErr, listErr error
			if slots != nil && ahead[k] != nil {
				l := ahead[k]
				<-l.done
				sub, subEnts, openErr, listErr = l.dir, l.ents, l.openErr, l.listErr
				ahead[k], inFlight = nil, inFlight-1
				<-w.held
			} else if sub, openErr = dir.sub(name); openErr == nil {
				subEnts, listErr = sub.list()
			}
			if openErr != nil {
				e.Problem = fmt.Sprintf("cannot open folder: %v", openErr)
				break
			}
			var err error
			if listErr != nil {
				err = fn(Entry{Name: e.Name, Problem: fmt.Sprintf("cannot list folder: %v", listErr)})
			} else {
				err = d.walk(ctx, w, sub, full, depth+1, subEnts, fn)
			}
			sub.close()
			if err != nil {
				return err
			}
			continue
		case t&fs.ModeSymlink != 0:
			e.Problem = "symbolic link: not followed"
		case !t.IsRegular():
			e.Problem = fmt.Sprintf("not a regular file (%s)", t)
		case d.requests > 1:
			e.path = full
		default:
			// Since the listing the name may have been replaced: it is
			// opened by openRegular's rules (dir.open), never blocking on a
			// FIFO nor reading a device or a link put there. Size stays
			// unknown (0): MaxFileSize is enforced while reading, which
			// saves a stat per file.
			f, problem, err := dir.open(name)
			switch {
			case problem != "":
				e.Problem = problem
			case err != nil:
				e.Problem = fmt.Sprintf("open failed: %v", err)
			default:
				e.file = f
			}
		}
		if err := fn(e); err != nil {
			e.Release()
			return err
		}
	}
	return nil
}

// compareDirents orders a folder's names as S3 orders keys: a folder
// compares as "name/", which puts "a.json" before "a/…".
func compareDirents(a, b dirent) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	// One name is the other's start: the byte after it (a folder's "/",
	// -1 at the end) decides, without building "name/" a comparison.
	return cmp.Compare(after(a, n), after(b, n))
}

// after is the byte at i of d's name as a key: its "/" when d is a
// folder and i its length, -1 past the end.
func after(d dirent, i int) int {
	switch {
	case i < len(d.name):
		return int(d.name[i])
	case i == len(d.name) && d.IsDir():
		return '/'
	}
	return -1
}

// Open hands over the file Walk opened, or opens the one it listed.
func (d *DirSource) Open(_ context.Context, e Entry) (io.ReadCloser, error) {
	if e.path != "" && e.Problem == "" {
		return d.openListed(e.path)
	}
	if e.file == nil {
		return nil, fmt.Errorf("exportfile: open %s: not an entry of this walk", e.Name)
	}
	return e.file, nil
}

// openListed opens a file Walk listed and left for Open. Since the
// listing it may have been replaced: anything but a regular file is
// refused, as Walk refuses it (openRegular).
func (d *DirSource) openListed(path string) (io.ReadCloser, error) {
	f, problem, err := openRegular(d.root, path)
	switch {
	case problem != "":
		return nil, fmt.Errorf("open %s: %s", SafeDisplay(path), problem)
	case err != nil:
		return nil, err // as Walk's own open would have put it (a Problem)
	}
	return f, nil
}

// openRegular opens name below root as an export file, which may have
// been replaced since its folder was listed. Anything but a regular file
// is refused with a problem as Walk words it: a FIFO put there is not
// waited on for ever (fsinfo.OpenRegular opens without blocking), a
// device is not read, and a symbolic link — which the Root would follow
// inside the folder — is not followed: after the open, the name must
// still be a regular file and the very file opened. err is any other
// failure.
func openRegular(root *os.Root, name string) (f *os.File, problem string, err error) {
	f, fi, err := fsinfo.OpenRegular(root, name)
	var nr *fsinfo.NotRegularError
	if errors.As(err, &nr) {
		return nil, fmt.Sprintf("not a regular file (%s)", nr.Mode.Type()), nil
	}
	if err != nil {
		return nil, "", err
	}
	li, err := root.Lstat(name)
	switch {
	case err != nil:
		problem = ""
	case li.Mode()&fs.ModeSymlink != 0:
		problem = "symbolic link: not followed"
	case !li.Mode().IsRegular() || !os.SameFile(fi, li):
		problem = "not a regular file: replaced while opened"
	default:
		return f, "", nil
	}
	f.Close()
	return nil, problem, err
}

// S3Source reads an export from s3://bucket/prefix.
type S3Source struct {
	client *s3.Client
	bucket string
	prefix string // without trailing slash; "" for the whole bucket
	// requests is Parallelism: the Config's (NewSource), else
	// s3util.DefaultRequests.
	requests int
}

// NewS3Source reads the objects under prefix in bucket.
func NewS3Source(c *s3.Client, bucket, prefix string) *S3Source {
	return &S3Source{client: c, bucket: bucket, prefix: strings.Trim(prefix, "/")}
}

func (s *S3Source) String() string { return s3util.FormatURL(s.bucket, s.prefix) }

// Parallelism is how many files a reader of the export keeps in
// flight (ParallelSource): each GET waits on a round trip.
func (s *S3Source) Parallelism() int { return s3util.Config{Requests: s.requests}.InFlight() }

// ParallelSource is a Source whose reads wait on a network round trip:
// its readers keep Parallelism files in flight to hide the latency.
type ParallelSource interface {
	Source
	Parallelism() int
}

// Walk lists the objects under the prefix, page by page, in the server's
// lexical key order. Keys that are not clean relative names under the
// prefix (".." or "." segments, empty segments, control characters,
// backslashes, invalid UTF-8) are reported with a Problem and never read.
func (s *S3Source) Walk(ctx context.Context, fn func(Entry) error) error {
	listPrefix := ""
	if s.prefix != "" {
		listPrefix = s.prefix + "/"
	}
	return s3util.List(ctx, s.client, s.bucket, listPrefix, func(o types.Object) error {
		return fn(s3Entry(listPrefix, aws.ToString(o.Key), aws.ToInt64(o.Size)))
	})
}

// s3Entry maps a listed key to an Entry; folder markers ("a/b/") are
// zero-byte placeholders and carry no data, so they become Entry{} (skipped).
func s3Entry(listPrefix, key string, size int64) Entry {
	rel, ok := strings.CutPrefix(key, listPrefix)
	if !ok {
		return Entry{Name: SafeDisplay(key), Problem: "key outside the prefix"}
	}
	if strings.HasSuffix(rel, "/") && size == 0 && unsafeName(strings.TrimSuffix(rel, "/")) == "" {
		return Entry{}
	}
	e := Entry{Name: rel, Size: size}
	if p := unsafeName(rel); p != "" {
		e.Name = SafeDisplay(rel)
		if e.Name != rel {
			e.raw = rel
		}
		e.Problem = p
	}
	return e
}

// Open streams an object.
func (s *S3Source) Open(ctx context.Context, e Entry) (io.ReadCloser, error) {
	// Unlimited here: the reader holds the file to MaxFileSize. A
	// connection that fails part way is resumed (s3util.OpenObject).
	rc, err := s3util.OpenObject(ctx, s.client, s.bucket, s3util.Join(s.prefix, e.Name), 0)
	if err != nil {
		return nil, fmt.Errorf("exportfile: %w", err)
	}
	return rc, nil
}

// unsafeName says why a relative name must not be opened, or "".
func unsafeName(name string) string {
	switch {
	case name == "":
		return "unsafe name: empty"
	case strings.HasPrefix(name, "/"):
		return "unsafe name: absolute path"
	case strings.ContainsRune(name, 0):
		return "unsafe name: contains NUL"
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "unsafe name: path traversal (..)"
		}
	}
	if err := s3util.ValidKey(name); err != nil {
		return "unsafe name: " + strings.TrimPrefix(err.Error(), s3util.ErrBadURL.Error()+": ")
	}
	return ""
}

// shortDisplay shortens a displayed name longer than maxNameDisplay to
// its start and end, marking what it left out.
func shortDisplay(name string) string {
	if len(name) <= maxNameDisplay {
		return name
	}
	head, tail := name[:maxNameDisplay/2], name[len(name)-maxNameDisplay/2:]
	for !utf8.ValidString(head) { // a display name is valid UTF-8: cut at a rune
		head = head[:len(head)-1]
	}
	for !utf8.ValidString(tail) {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s…(%d bytes)…%s", head, len(name)-len(head)-len(tail), tail)
}

// SafeDisplay makes a hostile name or id from an export printable in
// reports and on a terminal: anything strconv.IsPrint refuses — control
// characters (escape sequences, BEL, CR, LF, and the C1 controls such as
// U+009B, a CSI to some terminals), format characters that reorder
// what is shown (U+202E) and spaces other than ASCII's — invalid UTF-8
// and the backslash itself are Go-escaped, so that no two names show
// alike; plain text is unchanged.
func SafeDisplay(name string) string {
	if utf8.ValidString(name) && !strings.ContainsFunc(name, func(r rune) bool { return r == '\\' || !strconv.IsPrint(r) }) {
		return name
	}
	q := fmt.Sprintf("%q", name)
	return q[1 : len(q)-1]
}

// SafeMessage is SafeDisplay for a message that carries such names or
// values among its own words (an error, a warning on stderr): each
// character SafeDisplay escapes is escaped as it does (ESC as \x1b,
// U+009B as \u009b, U+202E as \u202e, an invalid byte as \xff), but
// line breaks and tabs, which a message may hold, and backslashes, which
// its words and the names SafeDisplay already escaped hold, are kept:
// applied to a whole message it changes nothing SafeDisplay showed.
func SafeMessage(msg string) string {
	if utf8.ValidString(msg) && !strings.ContainsFunc(msg, escapedInMessage) {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		r, n := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, msg[i])
		case escapedInMessage(r):
			q := strconv.QuoteRune(r) // as %q writes it in a string
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(msg[i : i+n])
		}
		i += n
	}
	return b.String()
}

func escapedInMessage(r rune) bool {
	return r != '\n' && r != '\t' && r != '\\' && !strconv.IsPrint(r)
}
