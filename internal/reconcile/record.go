package reconcile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/ledger"
)

// RunKindDiff is the run kind (and ledger entry kind) of a recorded diff.
const RunKindDiff = "diff"

// DiffOptions configure a recorded diff.
type DiffOptions struct {
	Matter  string
	Diff    diff.Options
	TempDir string // where findings are spooled before they are stored
	// Emit, when set, also receives every finding (the command prints them).
	Emit func(diff.Finding) error
	Now  func() time.Time
	// SignerKey, when set, signs a checkpoint covering the diff entry.
	SignerKey string
}

// DiffResult is what a recorded diff produced.
type DiffResult struct {
	RunID   string       `json:"run_id"`
	Seq     uint64       `json:"seq"` // of its "diff" ledger entry
	Summary diff.Summary `json:"summary"`
	// FindingsSHA256 is SHA-256 of the findings as JSON Lines, in the
	// diff's deterministic order; FindingsEvidence the evidence object
	// holding them (gzip).
	FindingsSHA256   string `json:"findings_sha256"`
	FindingsEvidence string `json:"findings_evidence_sha256"`
	// FilesSHA256 is SHA-256 of the file manifest (one JSON line per
	// export file read: name, size, sha256); FilesEvidence holds it (gzip).
	FilesSHA256   string `json:"files_sha256"`
	FilesEvidence string `json:"files_evidence_sha256"`
	FilesRead     int    `json:"files_read"`
}

// Diff runs a diff of src against the ledger and records it: the findings
// and the manifest of export files read are stored as evidence, and a
// "diff" entry with their hashes and the summary is appended, with a run
// of kind "diff" whose accounting refetch reads back.
func Diff(ctx context.Context, l *ledger.Ledger, store evidence.Store, src diff.Source, o DiffOptions) (*DiffResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Matter == "" {
		o.Matter = l.Matter()
	}
	spool, err := os.CreateTemp(o.TempDir, "custody-findings-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("reconcile: spool findings: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	fh := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(spool, fh))
	enc := json.NewEncoder(bw)
	hs := &hashingSource{Source: src}
	started := o.Now()
	sum, err := diff.Run(ctx, hs, &LedgerIndex{L: l, Matter: o.Matter}, o.Diff, func(f diff.Finding) error {
		if err := enc.Encode(f); err != nil {
			return err
		}
		if o.Emit != nil {
			return o.Emit(f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("reconcile: spool findings: %w", err)
	}
	res := &DiffResult{Summary: sum, FindingsSHA256: hex.EncodeToString(fh.Sum(nil))}

	// Store findings and the file manifest as evidence (gzip: a diff of a
	// million messages has millions of findings).
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	ref, err := putGzip(ctx, store, spool)
	if err != nil {
		return nil, fmt.Errorf("reconcile: store findings: %w", err)
	}
	res.FindingsEvidence = ref.Sum.String()
	files := hs.manifest()
	res.FilesRead = len(files)
	var fm bytes.Buffer
	fenc := json.NewEncoder(&fm)
	for _, f := range files {
		if err := fenc.Encode(f); err != nil {
			return nil, err
		}
	}
	fsum := sha256.Sum256(fm.Bytes())
	res.FilesSHA256 = hex.EncodeToString(fsum[:])
	ref, err = putGzip(ctx, store, &fm)
	if err != nil {
		return nil, fmt.Errorf("reconcile: store file manifest: %w", err)
	}
	res.FilesEvidence = ref.Sum.String()

	res.RunID = export.NewRunID(RunKindDiff, started)
	policy, err := json.Marshal(o.Diff.Policy)
	if err != nil {
		return nil, err
	}
	ph := sha256.Sum256(policy)
	detail, err := json.Marshal(map[string]any{
		"source": src.String(), "format": string(o.Diff.Format), "policy_sha256": hex.EncodeToString(ph[:]),
		"findings_sha256": res.FindingsSHA256, "findings_evidence_sha256": res.FindingsEvidence,
		"files_sha256": res.FilesSHA256, "files_evidence_sha256": res.FilesEvidence, "files_read": res.FilesRead,
		"messages": sum.Messages, "conversations": sum.Conversations, "counts": sum.Counts,
	})
	if err != nil {
		return nil, err
	}
	acct, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	scope, _ := json.Marshal(map[string]string{"source": src.String(), "format": string(o.Diff.Format)})
	err = l.Update(context.WithoutCancel(ctx), func(tx *ledger.Tx) error {
		out, err := tx.Append(ledger.Entry{Kind: ledger.KindDiff, Matter: o.Matter, RunID: res.RunID, Detail: detail})
		if err != nil {
			return err
		}
		res.Seq = out[0].Seq
		acct, err = json.Marshal(res)
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
		if _, err := l.Checkpoint(context.WithoutCancel(ctx), o.SignerKey); err != nil {
			return res, fmt.Errorf("reconcile: checkpoint: %w", err)
		}
	}
	return res, nil
}

func putGzip(ctx context.Context, store evidence.Store, r io.Reader) (evidence.Ref, error) {
	var buf bytes.Buffer
	// BestSpeed: findings of a large diff are hundreds of MB of repetitive
	// JSON; the fastest level already shrinks them ~10× at a third of the
	// default level's CPU.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return evidence.Ref{}, err
	}
	if _, err := io.Copy(zw, r); err != nil {
		return evidence.Ref{}, err
	}
	if err := zw.Close(); err != nil {
		return evidence.Ref{}, err
	}
	return store.Put(ctx, buf.Bytes())
}

// FileRecord is one export file a diff read.
type FileRecord struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// hashingSource hashes every file the diff reads, so the diff entry can
// name exactly the bytes it compared. A file is hashed whole even if the
// parser stopped early (the rest is drained on Close).
type hashingSource struct {
	diff.Source
	mu    sync.Mutex
	files []FileRecord
}

func (h *hashingSource) Open(ctx context.Context, e diff.Entry) (io.ReadCloser, error) {
	rc, err := h.Source.Open(ctx, e)
	if err != nil {
		return nil, err
	}
	return &hashingReader{rc: rc, h: sha256.New(), name: e.Name, src: h}, nil
}

func (h *hashingSource) manifest() []FileRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	sort.Slice(h.files, func(i, j int) bool { return h.files[i].Name < h.files[j].Name })
	return h.files
}

type hashingReader struct {
	rc     io.ReadCloser
	h      hash.Hash
	n      int64
	name   string
	src    *hashingSource
	closed bool
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

func (r *hashingReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	_, derr := io.Copy(io.Discard, struct{ io.Reader }{r})
	err := r.rc.Close()
	rec := FileRecord{Name: r.name, Size: r.n, SHA256: hex.EncodeToString(r.h.Sum(nil))}
	if derr != nil {
		rec.SHA256 = "" // unreadable to the end: no honest hash
	}
	r.src.mu.Lock()
	r.src.files = append(r.src.files, rec)
	r.src.mu.Unlock()
	return errors.Join(derr, err)
}
