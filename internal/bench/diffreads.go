package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// diffReads lists the files a diff of f's export reads besides the
// export's own and the ledger: the evidence objects it opens (the opening
// of every capture it compares or reports missing, where ledger format v3
// keeps a message's personal fields; the bulk body of a conversation,
// which names its messages' attachments). It runs the comparison once, in
// this process and untimed, through a store that notes each object read,
// so that the floor over every file the diff reads is over those very
// files: not over the whole evidence folder, since a diff opens no
// capture of a conversation the export lacks.
func diffReads(ctx context.Context, f *DiffFixture) ([]string, error) {
	l, err := ledger.Open(ctx, f.Ledger, ledger.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	st, err := folder.Open(f.Evidence, evidence.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	defer st.Close()
	src, err := exportfile.NewSource(ctx, f.Export, exportfile.SourceConfig{})
	if err != nil {
		return nil, fmt.Errorf("bench: diff: %w", err)
	}
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	ro, ok := evidence.ReadOnly(st).(readOnly)
	if !ok {
		return nil, fmt.Errorf("bench: diff: the read-only store %T does not forward GetInto, Open and Parallelism", evidence.ReadOnly(st))
	}
	rec := &readRecorder{readOnly: ro, read: map[hashchain.Hash]struct{}{}}
	if _, err := reconcile.Compare(ctx, l, src, reconcile.DiffOptions{Evidence: rec}); err != nil {
		return nil, fmt.Errorf("bench: diff: finding the objects a diff reads: %w", err)
	}
	files := make([]string, 0, len(rec.read))
	for sum := range rec.read {
		files = append(files, filepath.Join(f.Evidence, filepath.FromSlash(evidence.Key(sum))))
	}
	slices.Sort(files) // the order a walk of the folder gives
	return files, nil
}

// readRecorder notes every object read through the store it wraps, a
// read-only one (evidence.ReadOnly), which reads each object as the
// diff's own store does: GetInto, Open and Parallelism are forwarded.
type readRecorder struct {
	readOnly
	mu   sync.Mutex
	read map[hashchain.Hash]struct{}
}

// readOnly is what evidence.ReadOnly's stores are.
type readOnly interface {
	evidence.Store
	evidence.GetIntoer
	evidence.Opener
	evidence.Parallel
}

// note records sum when it was read: an object the diff looks for and
// does not find (the conversation body a sensitive-data cause is read
// from, which a bench fixture does not store) is no file to hash.
func (r *readRecorder) note(sum hashchain.Hash, err error) {
	if err != nil {
		return
	}
	r.mu.Lock()
	r.read[sum] = struct{}{}
	r.mu.Unlock()
}

func (r *readRecorder) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	b, err := r.readOnly.Get(ctx, sum)
	r.note(sum, err)
	return b, err
}

func (r *readRecorder) GetInto(ctx context.Context, sum hashchain.Hash, buf []byte) ([]byte, error) {
	b, err := r.readOnly.GetInto(ctx, sum, buf)
	r.note(sum, err)
	return b, err
}

func (r *readRecorder) Open(ctx context.Context, sum hashchain.Hash) (io.ReadCloser, error) {
	rc, err := r.readOnly.Open(ctx, sum)
	r.note(sum, err)
	return rc, err
}

// filesSize is the total size of files.
func filesSize(files []string) (int64, error) {
	var n int64
	for _, name := range files {
		fi, err := os.Stat(name)
		if err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
		n += fi.Size()
	}
	return n, nil
}
