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
// both.
func ReportFile(ctx context.Context, l *ledger.Ledger, file string, r io.Reader) (ReportMatch, error) {
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitedWriter{w: &head, n: proofPeek + 1}), r)
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
	// The report and erasure entries, from their leaves (byLeaf): the
	// kind column, no hash's, neither hides one nor stops the check.
	var lists []recallList
	err = byLeaf(ctx, l, 0, []string{leaf.KindReport, leaf.KindErasure}, func(e *leaf.Entry) {
		if e.Kind == leaf.KindErasure {
			lists = addRecallList(lists, e)
			return
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return // a detail that does not decode records nothing
		}
		for _, f := range d.(*leaf.ReportDetail).Files {
			if f.SHA256 == m.SHA256 && f.Size == n {
				m.Found, m.Seq, m.RunID, m.Name = true, e.Seq, e.RunID, f.Name
			}
		}
	})
	if err != nil {
		return m, err
	}
	if m.Found {
		cp, ok, err := l.LatestCheckpoint(ctx)
		if err != nil {
			return m, err
		}
		m.Covered = ok && cp.Size > m.Seq
		// The latest checkpoint's signature and root are Ledger's to
		// check, as for Covered.
		var signed uint64
		if ok {
			signed = cp.Size
		}
		m.Recalled = recallsOf(lists, leaf.KindReport, m.Seq, signed)
	}
	return m, nil
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
