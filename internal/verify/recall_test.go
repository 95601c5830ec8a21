package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// TestRecalledOutputs: a production or a report file that a later
// erasure entry lists for recall (custody erase: it holds, or may hold,
// what was erased) is RECALLED, naming the erasure entry, its time and
// reason, once a signed checkpoint covers that entry; before, verify
// --production and --report said OK. An erasure entry no signed
// checkpoint covers is said, and recalls nothing: anyone who can write
// the ledger file can append one.
func TestRecalledOutputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, key, out := producedMatter(t, dir)
	o := verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l}
	prod, err := verify.Production(ctx, out, o)
	if err != nil || !prod.OK || !prod.InLedger || prod.IsRecalled() || len(prod.Recalled) != 0 {
		t.Fatalf("the production as produced: %v %+v", err, prod)
	}
	// A report entry recording one file, covered by a checkpoint.
	page := []byte("<html>report</html>")
	sum := sha256.Sum256(page)
	rd, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{{Name: "report.html", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(page))}},
		Operator: "u", Root: "00", ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	reportEntry := appendEntry(t, l, leaf.Entry{Kind: leaf.KindReport, RunID: "report-1", Detail: rd})
	if _, err := l.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	match := func() verify.ReportMatch {
		t.Helper()
		m, err := verify.ReportFile(ctx, l, "report.html", bytes.NewReader(page))
		if err != nil || !m.Found || !m.Covered || m.Finding() != nil {
			t.Fatalf("report file: %v %+v", err, m)
		}
		// verify --report's way: what the ledger pass read, the same.
		rep, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: l.VerifierKey()})
		if err != nil {
			t.Fatal(err)
		}
		if pm, err := rep.MatchReportFile(ctx, l, "report.html", bytes.NewReader(page)); err != nil || !reflect.DeepEqual(pm, m) {
			t.Fatalf("from the ledger pass: %v %+v; read again: %+v", err, pm, m)
		}
		return m
	}
	if m := match(); m.IsRecalled() || len(m.Recalled) != 0 {
		t.Fatalf("no erasure yet: %+v", m)
	}

	ed, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{}, Partial: []string{},
		Erased: []string{}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-7",
		Outputs: []leaf.ErasedOutput{{Seq: prod.ProductionSeq, Kind: leaf.KindProduction, Name: "p", Why: "holds 2 messages erased here"},
			{Seq: reportEntry, Kind: leaf.KindReport, Name: "report-1", Why: "may hold the transcripts of 2 messages erased here"}}})
	if err != nil {
		t.Fatal(err)
	}
	erasure := appendEntry(t, l, leaf.Entry{Kind: leaf.KindErasure, Detail: ed})
	check := func(rs []verify.Recall, signed bool, why string) {
		t.Helper()
		if len(rs) != 1 || rs[0].Erasure != erasure || rs[0].Reason != "DSR-7" || rs[0].Why != why || rs[0].Signed != signed || rs[0].At == "" {
			t.Fatalf("recalled %+v, want erasure %d (DSR-7, %q), signed %v", rs, erasure, why, signed)
		}
	}
	// Not yet under a signed checkpoint: said, not a recall.
	prod, err = verify.Production(ctx, out, o)
	if err != nil || !prod.OK || prod.IsRecalled() {
		t.Fatalf("an unsigned erasure entry: %v %+v", err, prod)
	}
	check(prod.Recalled, false, "holds 2 messages erased here")
	m := match()
	if m.IsRecalled() {
		t.Fatalf("an unsigned erasure entry recalls the report: %+v", m)
	}
	check(m.Recalled, false, "may hold the transcripts of 2 messages erased here")

	if _, err := l.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	prod, err = verify.Production(ctx, out, o)
	if err != nil || !prod.OK || !prod.IsRecalled() {
		t.Fatalf("a signed erasure entry: %v %+v", err, prod)
	}
	check(prod.Recalled, true, "holds 2 messages erased here")
	m = match()
	if !m.IsRecalled() {
		t.Fatalf("the report is not recalled: %+v", m)
	}
	check(m.Recalled, true, "may hold the transcripts of 2 messages erased here")
	// verify's verdict on the ledger with that report file: not OK.
	rep, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: l.VerifierKey()})
	if err != nil || !rep.OK {
		t.Fatalf("the ledger: %v %+v", err, rep.Findings)
	}
	rep.ReportFile = &m
	if rep.Settle(); rep.OK || !rep.Holds() {
		t.Errorf("a recalled report file: ok %v, holds %v", rep.OK, rep.Holds())
	}
}

func appendEntry(t *testing.T, l *ledger.Ledger, e leaf.Entry) uint64 {
	t.Helper()
	out, err := l.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Seq
}

// TestMatchReportFileIsTheVerifiedLedger: verify --report judges the
// file against the entries its ledger pass verified, not against a
// second read of the ledger: a report entry, an erasure entry and a
// checkpoint appended after the pass are not the ledger verify checked
// (their signatures and roots unchecked), so they neither record the
// file nor recall it; ReportFile, reading the ledger again, sees them.
func TestMatchReportFileIsTheVerifiedLedger(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.appendN(3)
	page := []byte("<html>report</html>")
	sum := sha256.Sum256(page)
	record := func(page []byte) uint64 {
		sum := sha256.Sum256(page)
		rd, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{{Name: "report.html", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(page))}},
			Operator: "u", Root: "00", ToolVersion: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return appendEntry(t, f.l, leaf.Entry{Kind: leaf.KindReport, Matter: "m", RunID: "report-" + hex.EncodeToString(sum[:4]), Detail: rd})
	}
	seq := record(page)
	f.checkpoint()
	rep := f.verify(verify.Options{})
	if !rep.OK {
		t.Fatalf("the ledger: %+v", rep.Findings)
	}
	later := []byte("<html>a later report</html>")
	record(later)
	ed, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{}, Partial: []string{},
		Erased: []string{}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-8",
		Outputs: []leaf.ErasedOutput{{Seq: seq, Kind: leaf.KindReport, Name: "report-1", Why: "may hold what was erased"}}})
	if err != nil {
		t.Fatal(err)
	}
	appendEntry(t, f.l, leaf.Entry{Kind: leaf.KindErasure, Matter: "m", Detail: ed})
	f.checkpoint()

	m, err := rep.MatchReportFile(ctx, f.l, "report.html", bytes.NewReader(page))
	if err != nil || !m.Found || m.Seq != seq || !m.Covered || m.SHA256 != hex.EncodeToString(sum[:]) || len(m.Recalled) != 0 || m.Finding() != nil {
		t.Errorf("the report verified: %v %+v; want found at %d, covered, recalled by nothing the pass read", err, m, seq)
	}
	if m, err := rep.MatchReportFile(ctx, f.l, "report.html", bytes.NewReader(later)); err != nil || m.Found {
		t.Errorf("a report recorded after the pass: %v %+v; want not found in the ledger verified", err, m)
	}
	if m, err := verify.ReportFile(ctx, f.l, "report.html", bytes.NewReader(page)); err != nil || !m.IsRecalled() {
		t.Errorf("ReportFile, reading the ledger again: %v %+v; want the later erasure's recall", err, m)
	}
}

// TestMatchReportFileCancelled: a report file is hashed with a look at
// the context between reads, so a Ctrl-C while a large file is hashed
// stops the hash and says cancelled (review-commits5 H1). Before, the
// whole file was read and the match returned with no error, which verify
// --report took for a finished check: exit 0, nothing printed.
func TestMatchReportFileCancelled(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	f.checkpoint()
	rep := f.verify(verify.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The cancel comes with the first read: the rest of the file is
	// still to read.
	file := &cancelOnRead{r: bytes.NewReader(make([]byte, 8<<20)), cancel: cancel}
	m, err := rep.MatchReportFile(ctx, f.l, "big.html", file)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while hashing: %v %+v; want context.Canceled", err, m)
	}
	if file.n >= 8<<20 {
		t.Errorf("read %d bytes after the cancel: want the hash to stop", file.n)
	}
}

// cancelOnRead reads r and calls cancel on the first read.
type cancelOnRead struct {
	r      io.Reader
	cancel context.CancelFunc
	n      int
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	c.cancel()
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
