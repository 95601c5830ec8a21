package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// listedRun appends an export run killed after listing ids (its start
// entry and a listing entry naming a page of them, as export records
// them) with its run state (running, each id pending), and signs.
func (f *fixture) listedRun(store evidence.Store, id string, ids ...string) {
	f.t.Helper()
	var convs []map[string]any
	for _, c := range ids {
		convs = append(convs, map[string]any{"conversationId": c, "conversationStart": "2024-03-01T10:00:00.000Z"})
	}
	page, _ := json.Marshal(map[string]any{"conversations": convs})
	ref, err := store.Put(f.ctx, page)
	if err != nil {
		f.t.Fatal(err)
	}
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: json.RawMessage(`{"interval":"2024-03-01T00:00:00.000Z/2024-04-01T00:00:00.000Z"}`), Evidence: "file:///evidence"})
	listing, _ := leaf.EncodeDetail(&leaf.ListingDetail{Page: 1, JobID: "job-1", Conversations: len(ids)})
	err = f.l.Update(f.ctx, func(tx *ledger.Tx) error {
		if err := tx.PutRun(ledger.Run{ID: id, Kind: "export", Status: ledger.RunRunning}); err != nil {
			return err
		}
		for _, c := range ids {
			if err := tx.PutRunItem(ledger.RunItem{RunID: id, ItemID: c, Status: ledger.ItemPending}); err != nil {
				return err
			}
		}
		if _, err := tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: start}); err != nil {
			return err
		}
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindListing, RunID: id, EvidenceSHA256: ref.Sum, Detail: listing,
			Source: &leaf.Source{Method: "GET", Path: "/api/v2/analytics/conversations/details/jobs/job-1/results", Status: 200}})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.checkpoint()
}

// TestVerifyWarnsOfRunState: the run state (runs, run_items) and the
// matter's name are not chained; edited, they disagree with the entries.
// custody report says so; verify warns of each point too (run_state),
// naming it, and the ledger still verifies (OK): the state is not
// evidence. Before, verify said nothing of any of them.
func TestVerifyWarnsOfRunState(t *testing.T) {
	const run = "run-20240301T100000Z-killed00"
	ids := []string{"d0000000-0000-4000-8000-00000000000a", "d0000000-0000-4000-8000-00000000000b"}
	cases := []struct {
		name string
		sql  string
		want string // in the one warning; "" for none
	}{
		{"untouched", "", ""},
		{"items deleted", "DELETE FROM run_items", "run " + run + ": its listing entries name 2 conversations the ledger holds no capture of since the run began, which the run state does not hold as pending, failed or gone (2 missing from it, 0 marked otherwise)"},
		{"items marked done", "UPDATE run_items SET status = 'done'", "(0 missing from it, 2 marked otherwise)"},
		{"status edited", "UPDATE runs SET status = 'done'", `run ` + run + `: the run state says "done", its ledger entries "running"`},
		{"run deleted", "DELETE FROM runs", "run " + run + ": its start entry (seq 0) is in the ledger, but the run state has no such run"},
		{"name edited", "UPDATE state SET value = 'other-matter' WHERE key = 'matter'", `the matter's name in custody's state is "other-matter", but its ledger entries commit to "acme-v-smith"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			store, err := backends.Open(f.ctx, filepath.Join(t.TempDir(), "evidence"), evidence.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			f.listedRun(store, run, ids...)
			if tc.sql != "" {
				f.raw(tc.sql)
				f.reopen()
			}
			rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey(), Evidence: store})
			if !rep.OK {
				t.Fatalf("the ledger fails: %v", rep.Findings)
			}
			var got []string
			for _, w := range rep.Warnings {
				if w.Check == verify.CheckRunState {
					got = append(got, w.Message)
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Fatalf("warnings over an untouched run state: %q", got)
			case tc.want == "":
			case len(got) != 1 || !strings.Contains(got[0], tc.want):
				t.Fatalf("run_state warnings %q, want one with %q", got, tc.want)
			case !strings.Contains(got[0], "not chained, not evidence"):
				t.Fatalf("the warning does not say the state is not evidence: %q", got[0])
			}
		})
	}
}

// TestVerifyRunStateSeqWithoutEvidence: without evidence the run state is
// compared with the entries as the strict check decodes them, which must
// carry their seq: a run whose start entry is not the first names it
// (a reviewer's finding on 000e762, where every seq read 0 there, so
// captures after a run's start counted as before it).
func TestVerifyRunStateSeqWithoutEvidence(t *testing.T) {
	const run = "run-20240301T100000Z-killed00"
	f := newFixture(t)
	store, err := backends.Open(f.ctx, filepath.Join(t.TempDir(), "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f.appendN(3) // seq 0 – 2
	f.listedRun(store, run, "d0000000-0000-4000-8000-00000000000a")
	f.raw("UPDATE runs SET status = 'done'")
	f.reopen()
	rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey()})
	if !rep.OK {
		t.Fatalf("the ledger fails: %v", rep.Findings)
	}
	var got []string
	for _, w := range rep.Warnings {
		if w.Check == verify.CheckRunState {
			got = append(got, w.Message)
		}
	}
	want := `run ` + run + `: the run state says "done", its ledger entries "running" (from its start entry, seq 3, on)`
	if len(got) != 1 || !strings.Contains(got[0], want) {
		t.Fatalf("run_state warnings %q, want one with %q", got, want)
	}
}

// TestVerifyRunStateNotOverFailingLedger: over a ledger that fails, the
// failure is the finding; the entries are no reference to compare the
// state with.
func TestVerifyRunStateNotOverFailingLedger(t *testing.T) {
	f := newFixture(t)
	store, err := backends.Open(f.ctx, filepath.Join(t.TempDir(), "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f.listedRun(store, "run-x", "d0000000-0000-4000-8000-00000000000a")
	f.raw("DELETE FROM run_items", "DROP TRIGGER entries_append_only_update", "UPDATE entries SET chain = zeroblob(32) WHERE seq = 1")
	f.reopen()
	rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey(), Evidence: store})
	if rep.OK {
		t.Fatal("a broken chain verifies")
	}
	for _, w := range rep.Warnings {
		if w.Check == verify.CheckRunState {
			t.Fatalf("run_state warning over a failing ledger: %s", w.Message)
		}
	}
}

// TestRequestableIDIsExports: verify's copy of the rule for which listed
// ids export requests is export.ValidID's.
func TestRequestableIDIsExports(t *testing.T) {
	for _, id := range []string{"d0000000-0000-4000-8000-00000000000a", "a", "a.b_c-d", "..", "a..b", ".a", "-a", "", "a/b", "a b",
		strings.Repeat("x", 128), strings.Repeat("x", 129), "é", "a\x00"} {
		if got, want := verify.RequestableID(id), export.ValidID(id); got != want {
			t.Errorf("%q: verify says %v, export %v", id, got, want)
		}
	}
}

// BenchmarkRunStateWarnings measures the run state comparison verify
// adds (run-state) beside the whole of verify.Ledger, which includes it
// (ledger), on a matter folder as 'custody demo' leaves it:
//
//	CUSTODY_VERIFY_MATTER=/tmp/demo go test ./internal/verify -run '^$' -bench RunStateWarnings -benchtime 10x
func BenchmarkRunStateWarnings(b *testing.B) {
	dir := os.Getenv("CUSTODY_VERIFY_MATTER")
	if dir == "" {
		b.Skip("CUSTODY_VERIFY_MATTER names no matter folder")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "custody.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	b.Run("run-state", func(b *testing.B) {
		for b.Loop() {
			rep := verify.Report{OK: true}
			if err := verify.RunStateWarnings(ctx, l, evidence.ReadOnly(store), &rep); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ledger", func(b *testing.B) {
		for b.Loop() {
			if _, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: l.VerifierKey(), Evidence: evidence.ReadOnly(store), NoDerive: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestVerifyRunStateOverUnsignedLedger: a ledger whose entries no signed
// checkpoint covers (UNSIGNED, exit 4: every check holds) is still
// compared with its run state; only a failing ledger is not. Before, the
// comparison asked for the OK verdict, which f4a89aa made false there.
func TestVerifyRunStateOverUnsignedLedger(t *testing.T) {
	const run = "run-20240301T100000Z-killed00"
	f := newFixture(t)
	store, err := backends.Open(f.ctx, filepath.Join(t.TempDir(), "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	f.listedRun(store, run, "d0000000-0000-4000-8000-00000000000a")
	f.raw("DELETE FROM run_items", "DROP TRIGGER checkpoints_append_only_delete", "DELETE FROM checkpoints")
	f.reopen()
	rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey(), Evidence: store})
	if !rep.Holds() || rep.Unsigned == nil {
		t.Fatalf("want every check holding and the entries unsigned: %v, unsigned %+v", rep.Findings, rep.Unsigned)
	}
	n := 0
	for _, w := range rep.Warnings {
		if w.Check == verify.CheckRunState {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d run_state warnings over an unsigned ledger whose run items were deleted, want 1: %+v", n, rep.Warnings)
	}
}
