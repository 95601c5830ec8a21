package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// CheckReport names a report file that no report entry of the ledger
// records: not a file custody wrote for this ledger, or one changed since.
const CheckReport = "report"

// ReportMatch says which report entry recorded a report file.
type ReportMatch struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Found is whether a report entry records the file's hash; Seq, RunID
	// and Name (the file's name in the report) say which.
	Found bool   `json:"found"`
	Seq   uint64 `json:"seq,omitempty"`
	RunID string `json:"run_id,omitempty"`
	Name  string `json:"name,omitempty"`
	// Covered is whether a stored checkpoint covers that entry.
	Covered bool `json:"covered"`
	// Recalled are the later erasure entries that list the report for
	// recall (it holds, or may hold, content erased since): with one a
	// signed checkpoint covers, the file is RECALLED (IsRecalled).
	Recalled []Recall `json:"recalled,omitempty"`
	// proof is the format of a proof file given as the file (a report's
	// proofs/SEQ.proof.json, which no report entry records), to say so.
	proof string
	seq   uint64 // that proof's index
}

// proofPeek is how much of a file ReportFile keeps to tell a proof file
// (a few KB) from a report file.
const proofPeek = 1 << 20

// ReportFile hashes a report file (r, named file) and looks for it among
// the files the ledger's report entries record; it reads nothing but the
// report and erasure entries (from their leaves) and the checkpoints.
// Whether the ledger itself holds is Ledger's to say: a caller checks
// both, and one that has Ledger's report asks it (Report.MatchReportFile),
// which reads no row again.
func ReportFile(ctx context.Context, l *ledger.Ledger, file string, r io.Reader) (ReportMatch, error) {
	m, err := hashReportFile(ctx, file, r)
	if err != nil {
		return m, err
	}
	// The report and erasure entries, from their leaves (byLeaf): the
	// kind column, no hash's, neither hides one nor stops the check.
	var seen outputsSeen
	if err := byLeaf(ctx, l, 0, []string{leaf.KindReport, leaf.KindErasure}, seen.add); err != nil {
		return m, err
	}
	if !seen.match(&m) {
		return m, nil
	}
	cp, ok, err := l.LatestCheckpoint(ctx)
	if err != nil {
		return m, err
	}
	// The latest checkpoint's signature and root are Ledger's to check.
	var signed uint64
	if ok {
		signed = cp.Size
	}
	seen.settle(&m, signed)
	return m, nil
}

// MatchReportFile is ReportFile for the ledger this report verified: the
// report and erasure entries are those its pass decoded (read from their
// leaves, as byLeaf reads them, during the strict stage), so no row is
// read again (a second read cost about 2 s a million entries), and a
// file is judged against the entries verified, not against entries
// appended since. Covered and Signed are by the entries a checkpoint
// whose root held covers (CoveredEntries). A report from no pass (or one
// cut short) reads the ledger as ReportFile does.
func (rep *Report) MatchReportFile(ctx context.Context, l *ledger.Ledger, file string, r io.Reader) (ReportMatch, error) {
	if rep.runs == nil || rep.runs.outputs == nil {
		return ReportFile(ctx, l, file, r)
	}
	m, err := hashReportFile(ctx, file, r)
	if err != nil {
		return m, err
	}
	if rep.runs.outputs.match(&m) {
		rep.runs.outputs.settle(&m, rep.CoveredEntries)
	}
	return m, nil
}

// hashReportFile hashes the report file r and says whether it is a
// proof file. It stops when ctx ends, with ctx's error: a report file
// can be gigabytes, and a Ctrl-C must not wait for the whole of it.
func hashReportFile(ctx context.Context, file string, r io.Reader) (ReportMatch, error) {
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.CopyBuffer(io.MultiWriter(h, &limitedWriter{w: &head, n: proofPeek + 1}), ctxReader{ctx, r}, make([]byte, reportChunk))
	if err != nil {
		return ReportMatch{}, fmt.Errorf("verify: report %s: %w", file, err)
	}
	m := ReportMatch{File: file, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	if n <= proofPeek {
		var p struct {
			Format string `json:"format"`
			Index  uint64 `json:"index"`
		}
		if json.Unmarshal(head.Bytes(), &p) == nil && strings.HasPrefix(p.Format, "custody-proof/") {
			m.proof, m.seq = p.Format, p.Index
		}
	}
	return m, nil
}

// reportChunk is how much of a report file is read between two looks
// at the context.
const reportChunk = 1 << 20

// ctxReader reads r until ctx ends, then fails with ctx's error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// outputsSeen are the files report entries record and what erasure
// entries list for recall, gathered from entries in seq order.
type outputsSeen struct {
	files []recordedFile
	lists []recallList
}

// recordedFile is one file a report entry records.
type recordedFile struct {
	seq         uint64
	runID, name string
	sha256      string
	size        int64
}

// add takes entry e (others than report and erasure entries are
// ignored). What it keeps it copies: e's strings may be views of a
// buffer the caller reuses (verify's leaf stage).
func (s *outputsSeen) add(e *leaf.Entry) {
	switch e.Kind {
	case leaf.KindErasure:
		s.lists = addRecallList(s.lists, e)
	case leaf.KindReport:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return // a detail that does not decode records nothing
		}
		for _, f := range d.(*leaf.ReportDetail).Files {
			s.files = append(s.files, recordedFile{seq: e.Seq, runID: strings.Clone(e.RunID), name: f.Name, sha256: f.SHA256, size: f.Size})
		}
	}
}

// match looks for m's file among the recorded files (the latest entry
// recording it wins) and reports whether it was found.
func (s *outputsSeen) match(m *ReportMatch) bool {
	for _, f := range s.files {
		if f.sha256 == m.SHA256 && f.size == m.Size {
			m.Found, m.Seq, m.RunID, m.Name = true, f.seq, f.runID, f.name
		}
	}
	return m.Found
}

// settle sets Covered and Recalled of a found m: signed is how many
// entries a signed checkpoint covers.
func (s *outputsSeen) settle(m *ReportMatch, signed uint64) {
	m.Covered = signed > m.Seq
	m.Recalled = recallsOf(s.lists, leaf.KindReport, m.Seq, signed)
}

// IsRecalled reports whether an erasure entry a signed checkpoint covers
// lists the report for recall.
func (m ReportMatch) IsRecalled() bool { return m.Found && recalled(m.Recalled) }

// limitedWriter keeps the first n bytes written to it and drops the
// rest, never failing.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(int64(len(p)), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// Finding returns the report check's failure, or nil when the file is
// recorded and covered by a signed checkpoint.
func (m ReportMatch) Finding() *Finding {
	switch {
	case !m.Found && m.proof != "":
		return &Finding{Check: CheckReport, Message: fmt.Sprintf("%s (SHA-256 %s, %d bytes) is not a report file this ledger records: it is a proof file (%s, of seq %d), and a report records only its pages and report.json, not its proof files; check it with custody verify --proof %s --key KEY",
			m.File, m.SHA256, m.Size, m.proof, m.seq, m.File)}
	case !m.Found:
		return &Finding{Check: CheckReport, Message: fmt.Sprintf("%s (SHA-256 %s, %d bytes) is not a report file this ledger records: changed since it was written, or not written for this ledger", m.File, m.SHA256, m.Size)}
	case !m.Covered:
		seq := m.Seq
		return &Finding{Check: CheckReport, Seq: &seq, Message: fmt.Sprintf("%s is recorded (as %s) but no signed checkpoint covers its entry: only the hash chain vouches for it, and whoever can write the ledger file can write an entry that records any file. If custody wrote the entry (a report cut short before its checkpoint), the custodian signs it with custody checkpoint; otherwise nothing vouches for it", m.File, m.Name)}
	}
	return nil
}
