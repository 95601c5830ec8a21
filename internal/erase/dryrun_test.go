package erase_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
)

// treeState is dirtest.Files of dir, failing the test when dir cannot be
// read.
func treeState(t *testing.T, dir string) []string {
	t.Helper()
	out, err := dirtest.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEraseDryRun: a dry run says what the erasure would do — the same
// objects deleted, collateral messages, objects kept, productions and
// reports named, places left — and changes nothing: no file under the
// matter's folder (ledger, evidence) changes its bytes or modification
// time, and none comes or goes. A conversation under legal hold is
// previewed, said held, not refused. Before, there was no way to see the
// collateral of erasing one message before it was done (review L5).
func TestEraseDryRun(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, held := m.conversations(t)
	msg := messagesOf(t, m, free[0])[0]
	before := treeState(t, m.le.Dir)
	size := m.size(t)
	dry, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msg}, Operator: "dpo", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || dry.Seq != 0 || len(dry.Detail.Erased) == 0 || len(dry.Detail.Collateral) == 0 {
		t.Fatalf("dry run: %+v, want objects to delete and collateral", dry)
	}
	if after := treeState(t, m.le.Dir); !slices.Equal(before, after) || m.size(t) != size {
		t.Fatalf("a dry run changed the matter's files (%d entries → %d):\nbefore %v\nafter  %v", size, m.size(t), before, after)
	}
	hd, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{held[0]}, Operator: "dpo", DryRun: true})
	if err != nil || !slices.Equal(hd.Held, []string{held[0]}) {
		t.Fatalf("dry run of a held conversation: %v, held %v", err, hd)
	}
	if after := treeState(t, m.le.Dir); !slices.Equal(before, after) {
		t.Fatal("a dry run of a held conversation changed the matter's files")
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msg}, Reason: "DSR-5", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	d, r := dry.Detail, res.Detail
	if !slices.Equal(d.Erased, r.Erased) || !slices.Equal(d.Collateral, r.Collateral) || !slices.Equal(d.Messages, r.Messages) ||
		fmt.Sprint(d.Kept) != fmt.Sprint(r.Kept) || fmt.Sprint(d.Outputs) != fmt.Sprint(r.Outputs) || fmt.Sprint(dry.Remains) != fmt.Sprint(res.Remains) {
		t.Errorf("the dry run said\n%+v\n%+v\nthe erasure did\n%+v\n%+v", d, dry.Remains, r, res.Remains)
	}
}

// TestEraseDryRunKeepsJournal: an erase cut short after its entry was
// appended (and vouched for) but before it removed its journal, then
// the same selection dry-run. The dry run says the erasure is done,
// as a dry run, and changes nothing: the journal stays (the erase
// without --dry-run, holding the writer lock, removes it), and no file
// under the matter changes. Before, the "already erased" path removed
// the journal, without the lock a dry run does not take (review M3).
func TestEraseDryRunKeepsJournal(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	req := erase.Request{Conversations: []string{free[0]}, Reason: "DSR-7", Operator: "dpo", SignerKey: m.le.Key}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatal(err)
	}
	ledgerPath := m.le.Ledger.Path()
	// What the run left when it was killed after its checkpoint.
	p := &erasure.Pending{Version: 1, Operator: "dpo", Reason: "DSR-7", Conversations: []string{free[0]},
		Messages: []string{}, Objects: res.Detail.Erased, Command: "custody erase --conversation " + free[0] + " --reason DSR-7"}
	if err := erasure.WritePending(ledgerPath, p); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, m.le.Dir)
	dry, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0]}, Operator: "dpo", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.Already || !dry.DryRun || dry.Seq != res.Seq || dry.Journal != erasure.PendingPath(ledgerPath) {
		t.Errorf("dry run after the erase: already %v, dry run %v, seq %d (want %d), journal %q", dry.Already, dry.DryRun, dry.Seq, res.Seq, dry.Journal)
	}
	if after := treeState(t, m.le.Dir); !slices.Equal(before, after) {
		t.Fatalf("a dry run changed the matter's files:\ngone or changed %v\nnew or changed  %v", without(before, after), without(after, before))
	}

	// The erase itself finishes it: the journal is removed.
	again, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil || !again.Already || again.DryRun {
		t.Fatalf("the same erase again: %v, %+v", err, again)
	}
	if _, err := os.Lstat(erasure.PendingPath(ledgerPath)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the erase did not remove the journal of the erase it finished: %v", err)
	}
}

// without returns the lines of a that b does not hold.
func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
