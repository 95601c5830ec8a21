package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestDiffFixture builds a small fixture and diffs it in this process the
// way 'custody diff' does: the ledger must hold exactly the org's WhatsApp
// messages, the diff must read every readable message of the export, and
// the baseline every file.
func TestDiffFixture(t *testing.T) {
	ctx := context.Background()
	var prog bytes.Buffer
	r, err := RunDiff(ctx, DiffConfig{Messages: 2000, Seed: 3, Dir: t.TempDir(), Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	f := &r.Fixture
	if f.Captured < 1000 || f.Conversations == 0 || f.Captured < f.Conversations {
		t.Fatalf("captured %d messages of %d conversations, want about 1,600", f.Captured, f.Conversations)
	}
	if m := f.Manifest.MessagesReadable; m < 1500 || m > 2600 {
		t.Errorf("export has %d readable messages, want about 2,000", m)
	}
	if r.Baseline.Files != f.Manifest.Files || r.Baseline.Bytes == 0 {
		t.Errorf("baseline read %d files (%d bytes), export has %d", r.Baseline.Files, r.Baseline.Bytes, f.Manifest.Files)
	}
	if len(r.Floor) == 0 || r.Floor[0].Bytes != r.Baseline.Bytes || r.Floor[0].Files != r.Baseline.Files {
		t.Errorf("read-and-hash floor %+v, want the Go method first, over every file (%d bytes)", r.Floor, r.Baseline.Bytes)
	}
	for _, fl := range r.Floor {
		if fl.Wall < r.Baseline.Wall {
			t.Errorf("floor %s took %s, less than the baseline %s: the baseline is not the fastest", fl.Method, fl.Wall, r.Baseline.Wall)
		}
	}
	if len(r.Runs) != 0 {
		t.Errorf("no Exe, yet %d diff runs", len(r.Runs))
	}
	if !strings.Contains(prog.String(), "ledger: ") || !strings.Contains(prog.String(), "export: ") {
		t.Errorf("progress lacks the setup phases:\n%s", prog.String())
	}

	sum := diffFixture(t, f)
	if sum.Messages != f.Manifest.MessagesReadable {
		t.Errorf("diff read %d messages, export has %d readable", sum.Messages, f.Manifest.MessagesReadable)
	}
	if sum.Captured != f.Captured {
		t.Errorf("diff saw %d captured messages, ledger has %d", sum.Captured, f.Captured)
	}
	if sum.Files != f.Manifest.Files {
		t.Errorf("diff read %d files, export has %d", sum.Files, f.Manifest.Files)
	}
	// The damage the export did to WhatsApp messages shows; the non-WhatsApp
	// messages custody never captured are gaps.
	for _, k := range []finding.Kind{finding.TimestampPrecisionLost, finding.FormatLacks, finding.NotCaptured} {
		if sum.Counts[k] == 0 {
			t.Errorf("no %s findings: %v", k, sum.Counts)
		}
	}

	// The floor over every file the diff reads: the export's, the
	// openings of the captures of every conversation the export holds,
	// and every conversation's bulk body.
	want := wantReads(t, f)
	if r.Reads != len(want) || r.ReadsBytes == 0 {
		t.Errorf("the diff reads %d evidence objects (%d bytes), want %d: the openings of the conversations the export holds and every bulk body", r.Reads, r.ReadsBytes, len(want))
	}
	got, err := diffReads(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("diffReads lists %s, which is neither the opening of a capture the diff compares nor a bulk body", p)
		}
	}
	if fb := r.FullBaseline; fb.Files != r.Baseline.Files+r.Reads || fb.Bytes != r.Baseline.Bytes+r.ReadsBytes || fb.Wall <= 0 {
		t.Errorf("all-files baseline %+v, want %d files of %d bytes", fb, r.Baseline.Files+r.Reads, r.Baseline.Bytes+r.ReadsBytes)
	}
	if len(r.FullFloor) != len(r.Floor) || r.FullFloor[0].Bytes != r.FullBaseline.Bytes {
		t.Errorf("all-files floor %+v, want each method over %d bytes", r.FullFloor, r.FullBaseline.Bytes)
	}

	// And with the ledger's database file, which the diff reads too.
	st, err := os.Stat(f.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	if lr := r.Ledger; lr.Files != r.FullBaseline.Files+1 || lr.Bytes != r.FullBaseline.Bytes+st.Size() || lr.Wall <= 0 || !strings.HasPrefix(lr.Method, "go sha256") {
		t.Errorf("baseline with the ledger %+v, want go sha256 over %d files of %d bytes", lr, r.FullBaseline.Files+1, r.FullBaseline.Bytes+st.Size())
	}

	var b bytes.Buffer
	PrintDiffTable(&b, r)
	if !strings.Contains(b.String(), "read+sha256") || !strings.Contains(b.String(), "all files: read+") || !strings.Contains(b.String(), "all files and the ledger: read+go sha256") {
		t.Errorf("table lacks a baseline:\n%s", b.String())
	}
}

// wantReads is, found apart from diffReads, the set of files a diff of f
// opens in its evidence folder: the opening of every capture but those
// of the conversations the export lacks (conversation_absent findings),
// which a diff reports from their entries alone; and every
// conversation's bulk body — read for its messages' attachments, or,
// when the export lacks it, for sensitive data.
func wantReads(tb testing.TB, f *DiffFixture) map[string]bool {
	tb.Helper()
	ctx := context.Background()
	absent := map[string]bool{}
	l, store, src, closeAll := openFixture(tb, f, ledger.Options{ReadOnly: true})
	defer closeAll()
	if _, err := reconcile.Compare(ctx, l, src, reconcile.DiffOptions{Evidence: store, Emit: func(fd diff.Finding) error {
		if fd.Kind == finding.ConversationAbsent {
			absent[fd.ConversationID] = true
		}
		return nil
	}}); err != nil {
		tb.Fatal(err)
	}
	if len(absent) == 0 {
		tb.Fatal("the export lacks no conversation: the fixture does not show that their openings are left unread")
	}
	want := map[string]bool{}
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			tb.Fatal(err)
		}
		want[filepath.Join(f.Evidence, filepath.FromSlash(evidence.Key(e.EvidenceSHA256)))] = true
		if absent[e.ConversationID] {
			continue
		}
		d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
		if err != nil {
			tb.Fatal(err)
		}
		sum, err := hashchain.ParseHash(d.(*leaf.MessageDetail).OpeningEvidence)
		if err != nil {
			tb.Fatal(err)
		}
		want[filepath.Join(f.Evidence, filepath.FromSlash(evidence.Key(sum)))] = true
	}
	return want
}

func TestPrepareDiffRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := PrepareDiff(context.Background(), dir, DiffConfig{Messages: 10})
	if !errors.Is(err, ErrWorkDirNotEmpty) {
		t.Fatalf("PrepareDiff into a non-empty folder: %v, want ErrWorkDirNotEmpty", err)
	}
}

// TestPrepareDiffCancelledStopsItsWorkers: cancelled while it fills the
// ledger, PrepareDiff returns the cancellation promptly, and none of the
// goroutines that build entries and store openings is left running (one
// left would write into the evidence folder after the store closed).
func TestPrepareDiffCancelledStopsItsWorkers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := progressFunc(func(line string) {
		if strings.Contains(line, "filling the ledger") {
			time.AfterFunc(300*time.Millisecond, cancel)
		}
	})
	_, err := PrepareDiff(ctx, t.TempDir(), DiffConfig{Messages: 2_000_000, Seed: 1, Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PrepareDiff cancelled: %v, want context.Canceled", err)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "bench.fillLedger") {
		t.Errorf("a fillLedger goroutine still running after PrepareDiff returned:\n%s", stacks)
	}
}

// progressFunc is an io.Writer that hands each write to a func.
type progressFunc func(line string)

func (f progressFunc) Write(p []byte) (int, error) {
	f(string(p))
	return len(p), nil
}

// openFixture opens f's ledger with o, its evidence store and its
// export; closeAll closes the three (a benchmark opens them per round).
func openFixture(tb testing.TB, f *DiffFixture, o ledger.Options) (l *ledger.Ledger, store evidence.Store, src *exportfile.DirSource, closeAll func()) {
	tb.Helper()
	ctx := context.Background()
	l, err := ledger.Open(ctx, f.Ledger, o)
	if err != nil {
		tb.Fatal(err)
	}
	if store, err = backends.Open(ctx, f.Evidence, evidence.Options{}); err != nil {
		l.Close()
		tb.Fatal(err)
	}
	if src, err = exportfile.NewDirSource(f.Export); err != nil {
		store.Close()
		l.Close()
		tb.Fatal(err)
	}
	return l, store, src, func() { src.Close(); store.Close(); l.Close() }
}

// diffFixture runs reconcile.Diff over the fixture as cmd_diff does, the
// findings written as JSON Lines to nowhere.
func diffFixture(tb testing.TB, f *DiffFixture) diff.Summary {
	tb.Helper()
	ctx := context.Background()
	l, store, src, closeAll := openFixture(tb, f, ledger.Options{})
	defer closeAll()
	w, err := diff.NewWriter(diff.OutputJSONL, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{
		Diff: diff.Options{Policy: diff.DefaultPolicy()}, EmitJSON: w.(diff.JSONWriter).WriteJSON, // as custody diff --output jsonl
	})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Summary
}

// BenchmarkLedgerDiff is what 'custody diff' does, in this process, over
// a fixture of CUSTODY_BENCH_MESSAGES messages (default 20,000), or over
// the folder CUSTODY_BENCH_FIXTURE kept by 'custody bench diff --keep', so
// it can be profiled:
//
//	custody bench diff --messages 100000 --keep /tmp/bd
//	CUSTODY_BENCH_FIXTURE=/tmp/bd go test ./internal/bench -run '^$' -bench LedgerDiff -benchtime 3x -cpuprofile cpu.out
func BenchmarkLedgerDiff(b *testing.B) {
	n := 20_000
	if s := os.Getenv("CUSTODY_BENCH_MESSAGES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("CUSTODY_BENCH_MESSAGES=%q: want a positive number", s)
		}
	}
	var f *DiffFixture
	if dir := os.Getenv("CUSTODY_BENCH_FIXTURE"); dir != "" {
		// A folder kept by 'custody bench diff --keep': profile the diff alone.
		f = fixtureIn(dir)
	} else {
		var err error
		if f, err = PrepareDiff(context.Background(), b.TempDir(), DiffConfig{Messages: n, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	var sum diff.Summary
	b.ResetTimer()
	for b.Loop() {
		sum = diffFixture(b, f)
	}
	b.ReportMetric(float64(sum.Messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(sum.Counts.Total()), "findings")
}
