package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// RunKindDiff is the run kind of a recorded diff (its entry is of kind
// leaf.KindDiff, the same name).
const RunKindDiff = "diff"

// DiffOptions configure a recorded diff.
type DiffOptions struct {
	Matter string
	// Evidence is where Compare opens v3 captures (Diff is given its
	// store).
	Evidence evidence.Store
	Diff     diff.Options
	// Emit, when set, also receives every finding (the command prints them).
	Emit func(diff.Finding) error
	// Progress, when set, is called with the number of export files
	// compared so far, after each one.
	Progress func(files int)
	// EmitJSON, when set instead, receives every finding with its JSON
	// (f.AppendJSON's bytes, valid only during the call), as stored.
	EmitJSON func(f diff.Finding, js []byte) error
	Now      func() time.Time
	// SignerKey, when set, signs a checkpoint covering the diff entry.
	SignerKey string
	// Operator and ToolVersion are who records the diff and with which
	// custody, recorded in its entry with the host, as a run entry
	// records them of an export.
	Operator, ToolVersion string
}

// DiffResult is what a recorded diff produced.
type DiffResult struct {
	RunID   string       `json:"run_id"`
	Seq     uint64       `json:"seq"` // of its "diff" ledger entry
	Summary diff.Summary `json:"summary"`
	// FindingsSHA256 is SHA-256 of the findings as JSON Lines, in the
	// diff's deterministic order. FindingsEvidence are the evidence
	// objects holding them: gzip members of at most 64 MiB of lines each,
	// which concatenated in order are one gzip stream of all the lines.
	FindingsSHA256   string            `json:"findings_sha256"`
	FindingsEvidence leaf.EvidenceList `json:"findings_evidence_sha256"`
	// FilesSHA256 is SHA-256 of the file manifest (one JSON line per
	// export file read — name, size, sha256 — in the diff's file order);
	// FilesEvidence hold it, as FindingsEvidence hold the findings.
	FilesSHA256   string            `json:"files_sha256"`
	FilesEvidence leaf.EvidenceList `json:"files_evidence_sha256"`
	FilesRead     int               `json:"files_read"`
}

// Compare runs a diff of src against the ledger and records nothing: no
// evidence, no entry, no checkpoint (`custody diff --no-record`). It only
// reads the ledger, so l may be open read-only. Findings go to o.Emit or
// o.EmitJSON as Diff hands them over; o.SignerKey is not used.
func Compare(ctx context.Context, l *ledger.Ledger, src exportfile.Source, o DiffOptions) (diff.Summary, error) {
	if o.Matter == "" {
		o.Matter = l.Matter()
	}
	dopts := o.Diff
	filesDone := 0
	if o.Progress != nil {
		dopts.FileDone = func(exportfile.Entry) {
			filesDone++
			o.Progress(filesDone)
		}
	}
	var line []byte
	return diff.Run(ctx, src, &LedgerIndex{L: l, Evidence: o.Evidence, Matter: o.Matter}, dopts, func(f diff.Finding) error {
		switch {
		case o.EmitJSON != nil:
			line = f.AppendJSON(line[:0])
			return o.EmitJSON(f, line)
		case o.Emit != nil:
			return o.Emit(f)
		}
		return nil
	})
}

// Diff runs a diff of src against the ledger and records it: the findings
// and the manifest of export files read are stored as evidence, and a
// "diff" entry with their hashes and the summary is appended, with a run
// of kind "diff" whose accounting refetch reads back.
func Diff(ctx context.Context, l *ledger.Ledger, store evidence.Store, src exportfile.Source, o DiffOptions) (*DiffResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Matter == "" {
		o.Matter = l.Matter()
	}
	// The closing checkpoint must check the whole ledger, which for a large
	// one takes seconds: do that beside the diff, so that only the diff's
	// own entry is left to check at the end. A failed preparation hands
	// over nil: the checkpoint then checks everything itself and reports
	// what is wrong.
	prep := make(chan *ledger.CheckpointBase, 1)
	if o.SignerKey != "" {
		go func() {
			b, err := l.PrepareCheckpoint(ctx)
			if err != nil {
				b = nil
			}
			prep <- b
			close(prep)
		}()
	} else {
		close(prep)
	}
	defer func() { <-prep }() // never leave it reading a closed ledger
	findings := newPartedGzip(ctx, store)
	defer findings.abort()
	manifest := newPartedGzip(ctx, store)
	defer manifest.abort()
	var line []byte
	hs := &hashingSource{Source: src, done: map[string]FileRecord{}}
	var manifestErr error
	var recLine []byte
	filesRead := 0
	dopts := o.Diff
	filesDone := 0
	dopts.FileDone = func(e exportfile.Entry) {
		if filesDone++; o.Progress != nil {
			o.Progress(filesDone)
		}
		rec, ok := hs.take(e.Name)
		if !ok || manifestErr != nil { // not opened (a finding says why)
			return
		}
		recLine = append(rec.appendJSON(recLine[:0]), '\n')
		manifestErr = manifest.write(recLine)
		filesRead++
	}
	started := o.Now()
	sum, err := diff.Run(ctx, hs, &LedgerIndex{L: l, Evidence: store, Matter: o.Matter}, dopts, func(f diff.Finding) error {
		line = append(f.AppendJSON(line[:0]), '\n')
		if err := findings.write(line); err != nil {
			return err
		}
		switch {
		case o.EmitJSON != nil:
			return o.EmitJSON(f, line[:len(line)-1])
		case o.Emit != nil:
			return o.Emit(f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if manifestErr != nil {
		return nil, fmt.Errorf("reconcile: store file manifest: %w", manifestErr)
	}
	res := &DiffResult{Summary: sum, FilesRead: filesRead}
	if res.FindingsSHA256, res.FindingsEvidence, err = findings.close(); err != nil {
		return nil, fmt.Errorf("reconcile: store findings: %w", err)
	}
	if res.FilesSHA256, res.FilesEvidence, err = manifest.close(); err != nil {
		return nil, fmt.Errorf("reconcile: store file manifest: %w", err)
	}

	res.RunID = export.NewRunID(RunKindDiff, started)
	policy, err := json.Marshal(o.Diff.Policy)
	if err != nil {
		return nil, err
	}
	ph := sha256.Sum256(policy)
	var counts map[string]int
	if sum.Counts != nil {
		counts = make(map[string]int, len(sum.Counts))
		for k, n := range sum.Counts {
			counts[string(k)] = n
		}
	}
	host, _ := os.Hostname()
	detail, err := leaf.EncodeDetail(&leaf.DiffDetail{
		Source: src.String(), Format: string(o.Diff.Format), PolicySHA256: hex.EncodeToString(ph[:]),
		FindingsSHA256: res.FindingsSHA256, FindingsEvidenceSHA256: res.FindingsEvidence,
		FilesSHA256: res.FilesSHA256, FilesEvidenceSHA256: res.FilesEvidence, FilesRead: res.FilesRead,
		Messages: sum.Messages, Conversations: sum.Conversations, Counts: counts,
		Operator: o.Operator, Host: host, ToolVersion: o.ToolVersion,
	})
	if err != nil {
		return nil, err
	}
	scope, _ := json.Marshal(map[string]string{"source": src.String(), "format": string(o.Diff.Format)})
	err = l.Update(context.WithoutCancel(ctx), func(tx *ledger.Tx) error {
		out, err := tx.Append(leaf.Entry{Kind: leaf.KindDiff, Matter: o.Matter, RunID: res.RunID, Detail: detail})
		if err != nil {
			return err
		}
		res.Seq = out[0].Seq
		acct, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return tx.PutRun(ledger.Run{ID: res.RunID, Kind: RunKindDiff, Matter: o.Matter, Scope: scope,
			Status: ledger.RunDone, StartedAt: started, EndedAt: o.Now(), Accounting: acct})
	})
	if err != nil {
		return nil, err
	}
	if o.SignerKey != "" {
		if _, err := l.CheckpointFrom(context.WithoutCancel(ctx), o.SignerKey, <-prep); err != nil {
			return res, fmt.Errorf("reconcile: checkpoint: %w", err)
		}
	}
	return res, nil
}

// partSize is how many bytes of lines one stored part holds at most:
// every object stays under the store's size limit even if the lines do not
// compress (findings shrink about tenfold), and a diff of any size holds
// one part in memory. Variables for tests.
var (
	partSize   = 64 << 20
	spoolChunk = 256 << 10 // bytes of lines handed to the compressor at a time
)

// partedGzip stores a stream of lines as evidence: gzip members (RFC
// 1952) of at most partSize bytes of lines, one evidence object each,
// which concatenated in order are one gzip stream of all the lines — any
// gunzip reads them. It hashes the uncompressed lines. Compressing and
// storing run on a goroutine of their own, beside the diff.
type partedGzip struct {
	ctx   context.Context
	store evidence.Store
	buf   []byte
	full  chan []byte // to the compressor
	free  chan []byte // back from it
	done  chan struct{}
	shut  bool // full is closed
	// aborted tells the compressor not to store the last part (the diff
	// failed); set before full is closed.
	aborted bool
	// Set by the compressor before done closes.
	sum   string
	parts []string
	err   error
}

func newPartedGzip(ctx context.Context, store evidence.Store) *partedGzip {
	p := &partedGzip{ctx: ctx, store: store, full: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{})}
	for range 2 {
		p.free <- make([]byte, 0, spoolChunk+4096)
	}
	p.buf = make([]byte, 0, spoolChunk+4096)
	// The diff's findings go on being written while a part is stored.
	go p.run(p.full)
	return p
}

// write adds bytes (whole lines) to the stream.
func (p *partedGzip) write(b []byte) error {
	p.buf = append(p.buf, b...)
	if len(p.buf) < spoolChunk {
		return nil
	}
	select {
	case p.full <- p.buf:
	case <-p.done: // the compressor failed and stopped
		return p.err
	}
	select {
	case p.buf = <-p.free:
	case <-p.done:
		return p.err
	}
	return nil
}

// close flushes the stream and returns the SHA-256 of the lines and the
// evidence objects holding them, in order.
func (p *partedGzip) close() (string, []string, error) {
	if len(p.buf) > 0 {
		select {
		case p.full <- p.buf:
		case <-p.done:
		}
		p.buf = nil
	}
	p.shut = true
	close(p.full)
	<-p.done
	return p.sum, p.parts, p.err
}

// abort stops the compressor when close was not reached.
func (p *partedGzip) abort() {
	if !p.shut {
		p.shut, p.aborted = true, true
		close(p.full)
		<-p.done
	}
}

func (p *partedGzip) run(full <-chan []byte) {
	defer close(p.done)
	h := sha256.New()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		p.err = err
		return
	}
	raw := 0 // bytes of lines in the part being compressed
	cut := func() error {
		if err := zw.Close(); err != nil {
			return err
		}
		ref, err := p.store.Put(p.ctx, out.Bytes())
		if err != nil {
			return err
		}
		p.parts = append(p.parts, ref.Sum.String())
		out.Reset()
		zw.Reset(&out)
		raw = 0
		return nil
	}
	for b := range full {
		h.Write(b)
		for rest := b; len(rest) > 0; {
			n := min(len(rest), partSize-raw)
			if _, err := zw.Write(rest[:n]); err != nil {
				p.err = err
				return
			}
			raw += n
			rest = rest[n:]
			if raw == partSize {
				if p.err = cut(); p.err != nil {
					return
				}
			}
		}
		p.free <- b[:0]
	}
	if p.aborted {
		return
	}
	if raw > 0 || len(p.parts) == 0 { // an empty stream is one empty member
		if p.err = cut(); p.err != nil {
			return
		}
	}
	p.sum = hex.EncodeToString(h.Sum(nil))
}

// FileRecord is one export file a diff read.
type FileRecord struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// appendJSON appends r as json.Marshal writes it (TestFileRecordJSON):
// the diff writes one per file read, on its serial path.
func (r *FileRecord) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = jsonscan.AppendStringEncodingJSON(b, r.Name)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, r.Size, 10)
	b = append(b, `,"sha256":`...)
	b = jsonscan.AppendStringEncodingJSON(b, r.SHA256)
	return append(b, '}')
}

// hashingSource hashes every file the diff reads, so the diff entry can
// name exactly the bytes it compared. A file is hashed whole even if the
// parser stopped early (the rest is drained on Close). Records wait in
// done until the comparison is through with their file (take), so only
// the files in flight are held.
type hashingSource struct {
	exportfile.Source
	mu   sync.Mutex
	done map[string]FileRecord
}

// Parallelism forwards the wrapped source's (exportfile.ParallelSource;
// 1 when it has none): wrapping an export on S3 must not hide that its
// files are to be read many at a time. Without it the diff read an
// s3:// export 4 files at a time, one round trip each.
func (h *hashingSource) Parallelism() int {
	if ps, ok := h.Source.(exportfile.ParallelSource); ok {
		return ps.Parallelism()
	}
	return 1
}

// take removes and returns the record of a file read to the end.
func (h *hashingSource) take(name string) (FileRecord, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.done[name]
	delete(h.done, name)
	return rec, ok
}

func (h *hashingSource) Open(ctx context.Context, e exportfile.Entry) (io.ReadCloser, error) {
	rc, err := h.Source.Open(ctx, e)
	if err != nil {
		return nil, err
	}
	return &hashingReader{rc: rc, h: sha256.New(), name: e.Name, src: h}, nil
}

type hashingReader struct {
	rc     io.ReadCloser
	h      hash.Hash
	n      int64
	name   string
	src    *hashingSource
	closed bool
	eof    bool // the parser read to the end: nothing to drain
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	r.eof = err == io.EOF
	return n, err
}

func (r *hashingReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var derr error
	if !r.eof {
		_, derr = io.Copy(io.Discard, struct{ io.Reader }{r})
	}
	err := r.rc.Close()
	rec := FileRecord{Name: r.name, Size: r.n, SHA256: hex.EncodeToString(r.h.Sum(nil))}
	if derr != nil {
		rec.SHA256 = "" // unreadable to the end: no honest hash
	}
	r.src.mu.Lock()
	r.src.done[r.name] = rec
	r.src.mu.Unlock()
	return errors.Join(derr, err)
}
