package report_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// killedListedRun appends to env's ledger an export run killed after
// listing ids (a start entry and a listing entry whose page names them,
// as export records them, and no end), with its run state (the runs row
// and a pending item per id) only when withState.
func killedListedRun(t *testing.T, env *ledgertest.Env, id string, withState bool, ids ...string) {
	t.Helper()
	ctx := context.Background()
	var convs []map[string]any
	for _, c := range ids {
		convs = append(convs, map[string]any{"conversationId": c, "conversationStart": "2024-03-01T10:00:00.000Z"})
	}
	page, _ := json.Marshal(map[string]any{"conversations": convs})
	ref, err := env.Store.Put(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: json.RawMessage(`{"interval":"2024-03-01T00:00:00.000Z/2024-04-01T00:00:00.000Z"}`), Evidence: "file:///evidence"})
	listing, _ := leaf.EncodeDetail(&leaf.ListingDetail{Page: 1, JobID: "job-1", Conversations: len(ids)})
	err = env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if withState {
			if err := tx.PutRun(ledger.Run{ID: id, Kind: "export", Status: ledger.RunRunning}); err != nil {
				return err
			}
			for _, c := range ids {
				if err := tx.PutRunItem(ledger.RunItem{RunID: id, ItemID: c, Status: ledger.ItemPending}); err != nil {
					return err
				}
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
		t.Fatal(err)
	}
	if _, err := env.Ledger.Checkpoint(ctx, env.Key); err != nil {
		t.Fatal(err)
	}
}

// TestRunStateDeletedStillQualifies: an export killed after listing three
// conversations and capturing none of them. Its run state (runs,
// run_items) is not chained: deleting its rows, which verify does not
// notice, must not take the "not captured" qualification off the
// certificate. The report takes the run and what it listed from the
// ledger (the start entry, the listing page its listing entry names),
// lists each conversation as pending, and says the run state disagrees
// with the ledger; the run's outcome gives the ledger's counts beside the
// run state's. Before, the run vanished from the report, section 7 was
// empty and the certificate was unqualified.
func TestRunStateDeletedStillQualifies(t *testing.T) {
	ctx := context.Background()
	ids := []string{"d0000000-0000-4000-8000-00000000000a", "d0000000-0000-4000-8000-00000000000b", "d0000000-0000-4000-8000-00000000000c"}
	const run = "run-20240301T100000Z-killed00"
	for _, withState := range []bool{true, false} {
		env := hostileMatter(t, "short")
		killedListedRun(t, env, run, withState, ids...)
		res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, res.JSON)
		pending := 0
		for _, x := range doc.Exceptions {
			if x.Kind == report.KindPending {
				pending++
			}
		}
		if !res.Verified {
			t.Fatalf("run state %v: verification failed: %v", withState, doc.Integrity.Verified.Failures)
		}
		if pending != 3 || doc.Summary.NotCaptured != 3 || !strings.Contains(doc.Certificate.Statement, "3 conversations that a run listed were not captured") {
			t.Errorf("run state %v: %d pending, %d not captured, certificate %q; want 3, and the certificate qualified", withState, pending, doc.Summary.NotCaptured, doc.Certificate.Statement)
		}
		found := false
		for _, r := range doc.Runs {
			if r.RunID == run {
				found = r.Status == ledger.RunRunning && strings.Contains(r.Outcome, "not ended") &&
					strings.Contains(r.Outcome, "its ledger entries: 3 conversations listed, 0 captured by it")
			}
		}
		if !found {
			t.Errorf("run state %v: the killed run is not in the runs as not ended: %+v", withState, doc.Runs)
		}
		switch disagree := strings.Join(doc.Integrity.Unchained, "\n"); {
		case withState && disagree != "":
			t.Errorf("the run state agrees with the ledger, yet the report says: %s", disagree)
		case !withState && (!strings.Contains(disagree, "the run state has no such run") || !strings.Contains(disagree, "name 3 conversations") ||
			!strings.Contains(doc.Certificate.Statement, "state kept beside the ledger")):
			t.Errorf("run state deleted: disagreements %q, certificate %q; want both to say the run state disagrees with the ledger", disagree, doc.Certificate.Statement)
		}
	}
}

// killedByIDRun appends to env's ledger a run of kind over conversation
// ids killed before it captured any (a start entry whose scope names
// them, as export --ids-file and refetch record it, no listing entry, no
// end), with its run state (the runs row and a pending item per id) only
// when withState.
func killedByIDRun(t *testing.T, env *ledgertest.Env, id, kind string, withState bool, ids ...string) {
	t.Helper()
	ctx := context.Background()
	scope, _ := json.Marshal(map[string]any{"matter": "short", "conversation_ids": ids})
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: kind, Operator: "op", Host: "host", Tool: "custody", ToolVersion: "test",
		Scope: scope, Evidence: "file:///evidence"})
	err := env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if withState {
			if err := tx.PutRun(ledger.Run{ID: id, Kind: kind, Status: ledger.RunRunning, Scope: scope}); err != nil {
				return err
			}
			for _, c := range ids {
				if err := tx.PutRunItem(ledger.RunItem{RunID: id, ItemID: c, Status: ledger.ItemPending}); err != nil {
					return err
				}
			}
		}
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindRun, RunID: id, Detail: start})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Ledger.Checkpoint(ctx, env.Key); err != nil {
		t.Fatal(err)
	}
}

// TestByIDRunStateDeletedStillQualifies: a run by conversation id (an
// export --ids-file, a refetch) killed before capturing the three its
// start entry names. Its scope is chained in that entry: deleting its
// run_items rows must not take the three off section 7 nor the
// qualification off the certificate, and the certificate must not say
// its scope is not known. The run is named by its kind. Before, the
// count came from run_items alone (0 once deleted), the certificate said
// the run "listed no conversation … what its scope holds is not known",
// and a refetch run was called an export run.
func TestByIDRunStateDeletedStillQualifies(t *testing.T) {
	ctx := context.Background()
	ids := []string{"e0000000-0000-4000-8000-00000000000a", "e0000000-0000-4000-8000-00000000000b", "e0000000-0000-4000-8000-00000000000c"}
	const run = "run-20240301T100000Z-byid0000"
	for _, kind := range []string{"export", "refetch"} {
		for _, withState := range []bool{true, false} {
			env := hostileMatter(t, "short")
			killedByIDRun(t, env, run, kind, withState, ids...)
			res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
			if err != nil {
				t.Fatal(err)
			}
			doc := readDoc(t, res.JSON)
			if !res.Verified {
				t.Fatalf("%s, run state %v: verification failed: %v", kind, withState, doc.Integrity.Verified.Failures)
			}
			pending := 0
			for _, x := range doc.Exceptions {
				if x.Kind == report.KindPending {
					pending++
				}
			}
			st := doc.Certificate.Statement
			if pending != 3 || doc.Summary.NotCaptured != 3 || !strings.Contains(st, "3 conversations that a run listed were not captured") {
				t.Errorf("%s, run state %v: %d pending, %d not captured, certificate %q; want 3, and the certificate qualified", kind, withState, pending, doc.Summary.NotCaptured, st)
			}
			if strings.Contains(st, "not known") || strings.Contains(st, "listed no conversation") {
				t.Errorf("%s, run state %v: certificate %q says the scope is not known; its start entry names it", kind, withState, st)
			}
			if want := "1 " + kind + " run did not end"; !strings.Contains(st, want) {
				t.Errorf("%s, run state %v: certificate %q; want %q", kind, withState, st, want)
			}
			found := false
			for _, r := range doc.Runs {
				if r.RunID == run {
					found = strings.Contains(r.Outcome, "3 conversations named by its start entry, 0 captured by it")
				}
			}
			if !found {
				t.Errorf("%s, run state %v: the killed run's outcome does not give its start entry's scope: %+v", kind, withState, doc.Runs)
			}
		}
	}
}
