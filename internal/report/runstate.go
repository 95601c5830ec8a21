package report

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// The run state (the runs and run_items tables) is custody's bookkeeping
// beside the ledger: it is not chained, and plain SQL edits it without
// the hashes noticing (custody verify warns of the same disagreements,
// verify.CheckRunState). What the report states of a run — that it ended, its
// accounting, what it listed and left uncaptured — is taken from the
// ledger's entries (start, resume and end entries, listing entries and
// the listing pages they name) wherever they say it, and each point where
// the run state disagrees with them is said (integrity.state_disagreements): a
// deleted run_items row must not remove a certificate's qualification.

// ledgerRuns returns the runs of the run state with what the ledger's
// run entries say in place of the run state's own, and says where the
// two disagree (verify.RunEntries.CompareRuns: custody verify warns of
// the same points).
func ledgerRuns(runs []ledger.Run, lf *ledgerFacts) ([]ledger.Run, []string) {
	return lf.runEntries.CompareRuns(runs)
}

// listedNotCaptured adds to lf.exceptions, as pending, each conversation a
// run's listing pages (evidence its listing entries name) hold that the
// ledger has no capture of since the run began, that no erasure touched,
// and that no row of section 7 already accounts for (failed, gone,
// pending from the run's accounting or run state). Each such one is a
// point where the run state disagrees with the ledger, said per run
// (verify.RunEntries.ListedNotCaptured).
func listedNotCaptured(ctx context.Context, l *ledger.Ledger, store evidence.Store, lf *ledgerFacts) ([]string, error) {
	accounted := map[string]bool{}
	for _, x := range lf.exceptions {
		switch x.Kind {
		case "failed", "gone_at_source", KindPending:
			accounted[x.ConversationID] = true
		}
	}
	captured := func(id string) (uint64, bool) {
		c := lf.convs[id]
		if c == nil || c.leafHash.IsZero() {
			return 0, false
		}
		return c.seq, true
	}
	rows, disagree, err := lf.runEntries.ListedNotCaptured(ctx, l, verify.ListedCheck{Store: store, Erasure: lf.erasure, Captured: captured, Accounted: accounted})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		lf.exceptions = append(lf.exceptions, Exception{Kind: KindPending, ConversationID: r.ConversationID, Reason: r.Reason})
	}
	return disagree, nil
}

// disagreementText is what the certificate says when custody's state
// beside the ledger disagrees with the ledger.
func disagreementText(n int) string {
	return fmt.Sprintf("custody's state kept beside the ledger (the matter's name, its runs and their items: not chained, so not covered by its hashes) disagrees with the ledger's entries at %s (section 6 lists each): it was edited or damaged outside custody. This report states the matter's name, the runs and what they did not capture from the ledger's entries.",
		plural(n, "point", "points"))
}

// matterName is the matter's name as its ledger's entries commit to it,
// and each disagreement (verify.RunEntries.MatterName).
func matterName(stateName string, lf *ledgerFacts) (string, []string) {
	return lf.runEntries.MatterName(stateName)
}

// unendedText is the certificate's qualification for the runs the
// ledger started and did not end (killed, or still running), each named
// by its kind (export, refetch): they recorded no accounting, and one
// killed before it listed anything left no trace of its scope's
// conversations, so even "0 conversations" would read as a finding of
// nothing. A run by id named its scope in its start entry: its scope is
// known, and what it did not capture is among the conversations not
// captured (listedNotCaptured). "" when every run ended.
func unendedText(lf *ledgerFacts) string {
	var ids []string
	kinds := map[string]int{}
	var kindOrder []string
	nothing := 0
	for id, lr := range lf.runLedger {
		if !lr.Ended {
			ids = append(ids, id)
			if len(lr.Listings) == 0 && !lr.ByIDs() {
				nothing++
			}
		}
	}
	if len(ids) == 0 {
		return ""
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := lf.runLedger[id].Kind
		if k == "" {
			k = export.RunKind
		}
		if kinds[k] == 0 {
			kindOrder = append(kindOrder, k)
		}
		kinds[k]++
	}
	var named []string
	for _, k := range kindOrder {
		named = append(named, plural(kinds[k], k+" run", k+" runs"))
	}
	s := fmt.Sprintf("Of the runs, %s did not end (killed, or still running) and recorded no accounting (%s)",
		joinAnd(named), strings.Join(ids, ", "))
	switch {
	case nothing == len(ids) && nothing == 1:
		s += ", and it listed no conversation before it stopped: what its scope holds is not known"
	case nothing > 0:
		s += fmt.Sprintf(", and %d of them listed no conversation before they stopped: what their scope holds is not known", nothing)
	}
	return s + ": the records of a run's scope may not all be among these; section 1 gives each run."
}

// joinAnd joins "a", "a and b", "a, b and c".
func joinAnd(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// ledgerProgress is what the ledger's entries say of a run that has not
// ended, beside its run state's counts (unendedRun), which are not
// chained: how many conversations its listing entries count, and how
// many conversation entries it appended.
func ledgerProgress(lf *ledgerFacts, runID string) string {
	lr := lf.runLedger[runID]
	if lr == nil {
		return ""
	}
	listed := 0
	for _, ref := range lr.Listings {
		listed += ref.Count
	}
	scope := plural(listed, "conversation", "conversations") + " listed"
	if len(lr.IDs) > 0 {
		scope = fmt.Sprintf("%s named by its start entry", plural(len(lr.IDs), "conversation", "conversations"))
	}
	// A conversation found unchanged since its latest capture appends no
	// entry: what the run appended is not the run state's "done".
	return fmt.Sprintf("; its ledger entries: %s, %d captured by it (a new capture appended each; a conversation it found unchanged appends none, so this is not the run state's count of those done)", scope, lr.Captured)
}
