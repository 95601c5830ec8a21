package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
	"github.com/custodyhq/custody/internal/testutil/killtest"
	"github.com/custodyhq/custody/internal/verify"
)

// killHelperEnv makes the test binary a report that kills itself
// (TestReportKilledThenAgain).
const killHelperEnv = "CUSTODY_REPORT_KILL_HELPER"

// killHelper writes a report of the matter in KILL_DIR into KILL_OUT and
// kills its own process (SIGKILL: no deferred cleanup) at the first
// evidence read of the transcripts, when report.json and report.html
// have been begun; with KILL_AT=record, once its entry is appended,
// before its files take their names.
func killHelper() int {
	ctx := context.Background()
	dir := os.Getenv("KILL_DIR")
	l, st, err := killtest.OpenDir(ctx, dir, ledger.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var store evidence.Store = killtest.DyingStore{Store: st}
	if os.Getenv("KILL_AT") == "record" {
		store = st
		report.SetAfterRecord(killtest.Die)
	}
	_, err = report.Generate(ctx, l, store, report.Options{Out: os.Getenv("KILL_OUT"), Diff: report.DiffNone})
	fmt.Fprintln(os.Stderr, "report returned:", err)
	return 1
}

// TestReportKilledThenAgain: a report killed (SIGKILL) while it writes
// leaves no report.html or report.json that could be taken for a
// complete report, records nothing, and the same report run again into
// the same folder writes and records a whole one.
func TestReportKilledThenAgain(t *testing.T) {
	env := hostileMatter(t, "killed")
	out := filepath.Join(env.Dir, "report")
	ctx := context.Background()
	before, _ := env.Ledger.Head(ctx)

	killtest.Run(t, killHelperEnv, "KILL_DIR="+env.Dir, "KILL_OUT="+out)
	for _, name := range []string{"report.html", "report.json"} {
		if _, err := os.Lstat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a killed report left %s, which looks like a report: %v", name, err)
		}
	}
	if after, _ := env.Ledger.Head(ctx); after.Size != before.Size {
		t.Errorf("the killed report grew the ledger from %d to %d entries", before.Size, after.Size)
	}

	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: out, SignerKey: env.Key, Diff: report.DiffNone})
	if err != nil || res.Seq == nil {
		t.Fatalf("the same report again into the same folder: %+v %v", res, err)
	}
	checkInPlace(t, env.Ledger, out, res, *res.Seq)
}

// TestReportKilledAfterRecordingThenAgain: a report killed (SIGKILL)
// after its entry was appended, before its files took their names, is
// finished by the same report run again into the same folder: the files
// take their names, verify --report finds each, nothing is left under a
// temporary name, and the ledger holds one report entry — the killed
// run's — not two. (The rerun replaced the files and recorded a second.)
func TestReportKilledAfterRecordingThenAgain(t *testing.T) {
	env := hostileMatter(t, "killed")
	out := filepath.Join(env.Dir, "report")
	ctx := context.Background()
	reports := func() []uint64 {
		var seqs []uint64
		for e, err := range env.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindReport}) {
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, e.Seq)
		}
		return seqs
	}
	if r := reports(); len(r) != 0 {
		t.Fatalf("report entries before: %v", r)
	}
	// A temporary file of an earlier report that never got as far: no
	// entry names it.
	stale := filepath.Join(out, ".transcripts-0007.html.partial")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("cut short"), 0o644); err != nil {
		t.Fatal(err)
	}

	killtest.Run(t, killHelperEnv, "KILL_DIR="+env.Dir, "KILL_OUT="+out, "KILL_AT=record")
	recorded := reports()
	if len(recorded) != 1 {
		t.Fatalf("the killed report recorded %v, want one entry", recorded)
	}
	if _, err := os.Lstat(filepath.Join(out, "report.html")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("report.html is in place already: %v", err)
	}
	head, _ := env.Ledger.Head(ctx)

	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: out, SignerKey: env.Key, Diff: report.DiffNone})
	if err != nil {
		t.Fatalf("the same report again into the same folder: %v", err)
	}
	if got := reports(); len(got) != 1 {
		t.Fatalf("report entries %v, want the killed run's %v alone", got, recorded)
	}
	if after, _ := env.Ledger.Head(ctx); after.Size != head.Size {
		t.Errorf("finishing the report grew the ledger from %d to %d entries", head.Size, after.Size)
	}
	if !res.Completed || res.Seq == nil || *res.Seq != recorded[0] {
		t.Errorf("completed %v seq %v, want entry %d completed", res.Completed, res.Seq, recorded[0])
	}
	if cp, ok, _ := env.Ledger.LatestCheckpoint(ctx); !ok || cp.Size <= recorded[0] {
		t.Errorf("no checkpoint covers the report entry %d", recorded[0])
	}
	if len(res.Files) == 0 {
		t.Fatal("no files")
	}
	checkInPlace(t, env.Ledger, out, res, recorded[0])
	// What it shows is what the finished report.json says.
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Transcripts struct {
			Conversations int `json:"conversation_count"`
			Messages      int `json:"message_count"`
		} `json:"transcripts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if res.Convs != doc.Transcripts.Conversations || res.Messages != doc.Transcripts.Messages || res.Messages == 0 {
		t.Errorf("finished report shows %d conversations, %d messages; its report.json says %d, %d",
			res.Convs, res.Messages, doc.Transcripts.Conversations, doc.Transcripts.Messages)
	}
}

// TestReportLeavesAnotherMattersRecordedPartials: a report of matter A
// killed (SIGKILL) after its entry was appended leaves its files under
// their temporary names; a report of matter B into the same folder must
// not remove nor replace them (no entry of B names them, but they are
// A's, recorded in A's ledger): it refuses, changing nothing, and A's
// rerun finishes its report. (B removed them as never recorded.)
func TestReportLeavesAnotherMattersRecordedPartials(t *testing.T) {
	a := hostileMatter(t, "matter a")
	b := hostileMatter(t, "matter b")
	if a.Ledger.Origin() == b.Ledger.Origin() {
		t.Fatalf("both matters have origin %s", a.Ledger.Origin())
	}
	out := filepath.Join(t.TempDir(), "reports")
	ctx := context.Background()
	killtest.Run(t, killHelperEnv, "KILL_DIR="+a.Dir, "KILL_OUT="+out, "KILL_AT=record")
	listing := func() []string { return dirtest.Names(t, out) }
	before := listing()
	if len(before) == 0 {
		t.Fatal("the killed report left nothing")
	}
	for _, noRecord := range []bool{false, true} {
		_, err := report.Generate(ctx, b.Ledger, b.Store, report.Options{Out: out, NoRecord: noRecord, Diff: report.DiffNone})
		if !errors.Is(err, report.ErrUnfinished) {
			t.Errorf("matter b's report (no-record %v) into the folder holding matter a's recorded report: %v, want ErrUnfinished", noRecord, err)
		}
		if got := listing(); !slices.Equal(got, before) {
			t.Fatalf("matter b's report (no-record %v) changed the folder from %v to %v", noRecord, before, got)
		}
	}
	res, err := report.Generate(ctx, a.Ledger, a.Store, report.Options{Out: out, SignerKey: a.Key, Diff: report.DiffNone})
	if err != nil || !res.Completed {
		t.Fatalf("matter a's report again: %+v %v, want it completed", res, err)
	}
}

// TestReportKeepsPartOfARecordedReport: a report killed after its entry,
// one of whose temporary files was then moved away by hand, is neither
// finished nor removed by a report run again into the folder: its files
// are a recorded report's, and the run refuses (ErrUnfinished), changing
// nothing, until they are put back — then it finishes it.
func TestReportKeepsPartOfARecordedReport(t *testing.T) {
	env := hostileMatter(t, "killed")
	out := filepath.Join(env.Dir, "report")
	ctx := context.Background()
	killtest.Run(t, killHelperEnv, "KILL_DIR="+env.Dir, "KILL_OUT="+out, "KILL_AT=record")
	moved := filepath.Join(env.Dir, "moved")
	if err := os.Rename(filepath.Join(out, ".report.json.partial"), moved); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(out, ".report.html.partial")
	before, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := env.Ledger.Head(ctx)
	opts := report.Options{Out: out, SignerKey: env.Key, Diff: report.DiffNone}
	if _, err := report.Generate(ctx, env.Ledger, env.Store, opts); !errors.Is(err, report.ErrUnfinished) {
		t.Fatalf("a report into a folder holding part of a recorded report: %v, want ErrUnfinished", err)
	}
	if after, err := os.ReadFile(html); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("the recorded report's report.html was removed or written over (%v)", err)
	}
	if after, _ := env.Ledger.Head(ctx); after.Size != head.Size {
		t.Errorf("the refused report grew the ledger from %d to %d entries", head.Size, after.Size)
	}
	if err := os.Rename(moved, filepath.Join(out, ".report.json.partial")); err != nil {
		t.Fatal(err)
	}
	res, err := report.Generate(ctx, env.Ledger, env.Store, opts)
	if err != nil || !res.Completed {
		t.Fatalf("with its files back: %+v %v, want the recorded report finished", res, err)
	}
}

// checkInPlace: every file of res is in out under its own name and
// verify --report finds it, unaltered, under report entry seq; nothing is
// left under a temporary (hidden) name.
func checkInPlace(t *testing.T, l *ledger.Ledger, out string, res *report.Result, seq uint64) {
	t.Helper()
	for _, f := range res.Files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		match, err := verify.ReportFile(context.Background(), l, f.Name, bytes.NewReader(b))
		if err != nil || !match.Found || match.Finding() != nil || match.Seq != seq {
			t.Errorf("verify --report %s: %+v %v, want entry %d", f.Name, match, err, seq)
		}
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s left in the report's folder", e.Name())
		}
	}
}
