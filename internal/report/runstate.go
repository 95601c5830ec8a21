package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/ledger"
)

// The run state (the runs and run_items tables) is custody's bookkeeping
// beside the ledger: it is not chained, and plain SQL edits it without
// verify noticing. What the report states of a run — that it ended, its
// accounting, what it listed and left uncaptured — is taken from the
// ledger's entries (start, resume and end entries, listing entries and
// the listing pages they name) wherever they say it, and each point where
// the run state disagrees with them is said (runStateDisagreements): a
// deleted run_items row must not remove a certificate's qualification.

// ledgerRuns returns the runs of the run state with what the ledger's
// run entries say in place of the run state's own (status, end, chained
// accounting), plus the runs the ledger starts and the run state lacks;
// and says where the two disagree.
func ledgerRuns(runs []ledger.Run, lf *ledgerFacts) ([]ledger.Run, []string) {
	var disagree []string
	seen := map[string]bool{}
	out := make([]ledger.Run, 0, len(runs))
	for _, r := range runs {
		seen[r.ID] = true
		lr := lf.runLedger[r.ID]
		if lr == nil {
			out = append(out, r) // a run the ledger has no run entries of (a diff's)
			continue
		}
		status := lr.status()
		if r.Status != status {
			disagree = append(disagree, fmt.Sprintf("run %s: the run state says %q, its ledger entries %q (from its start entry, seq %d, on); the report gives the ledger's", r.ID, r.Status, status, lr.firstStart))
			r.Status = status
		}
		if lr.ended {
			if !sameJSON(r.Accounting, lr.accounting) {
				disagree = append(disagree, fmt.Sprintf("run %s: the run state's accounting is not the one its end entry records; the report gives the end entry's", r.ID))
			}
			r.Accounting, r.EndedAt = lr.accounting, lr.endedAt
		}
		out = append(out, r)
	}
	var missing []string
	for id := range lf.runLedger {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		lr := lf.runLedger[id]
		r := ledger.Run{ID: id, Kind: lr.kind, Scope: lr.scope, Status: lr.status(), StartedAt: lr.startedAt, Accounting: json.RawMessage(`{}`)}
		if len(r.Scope) == 0 {
			r.Scope = json.RawMessage(`{}`)
		}
		if lr.ended {
			r.EndedAt, r.Accounting = lr.endedAt, lr.accounting
		}
		disagree = append(disagree, fmt.Sprintf("run %s: its start entry (seq %d) is in the ledger, but the run state has no such run; the report gives it from the ledger", id, lr.firstStart))
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b ledger.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, disagree
}

// status is the run's status as its entries have it: the end entry's,
// or running when its last run entry is a start or resume.
func (lr *ledgerRun) status() string {
	if lr.ended {
		return lr.endStatus
	}
	return ledger.RunRunning
}

// sameJSON reports whether a and b hold the same JSON value (the run
// state and the canonical leaf may order members differently).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}

// listedNotCaptured adds to lf.exceptions, as pending, each conversation a
// run's listing pages (evidence its listing entries name) hold that the
// ledger has no capture of since the run began, that no erasure touched,
// and that no row of section 7 already accounts for (failed, gone,
// pending from the run's accounting or run state). Each such one is a
// point where the run state disagrees with the ledger, said per run.
// A listing page that cannot be read (verification names it) leaves the
// run's count to compare: fewer items in the run state than its listing
// entries count is said too.
func listedNotCaptured(ctx context.Context, l *ledger.Ledger, store evidence.Store, lf *ledgerFacts) ([]string, error) {
	accounted := map[string]bool{}
	for _, x := range lf.exceptions {
		switch x.Kind {
		case "failed", "gone_at_source", KindPending:
			accounted[x.ConversationID] = true
		}
	}
	ids := make([]string, 0, len(lf.runLedger))
	for id, lr := range lf.runLedger {
		if len(lr.listings) > 0 || lr.byIDs() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var disagree []string
	for _, runID := range ids {
		lr := lf.runLedger[runID]
		items, err := l.RunItems(ctx, runID, "")
		if err != nil {
			return nil, err
		}
		state := map[string]string{}
		for _, it := range items {
			state[it.ItemID] = it.Status
		}
		counted, unread := 0, 0
		listed := map[string]uint64{} // id → seq of the listing entry naming it
		var order []string
		for _, ref := range lr.listings {
			counted += ref.count
			page, err := readListing(ctx, store, ref)
			if err != nil {
				unread++
				continue
			}
			for _, c := range page.Conversations {
				if _, ok := listed[c.ConversationID]; !ok && export.ValidID(c.ConversationID) {
					listed[c.ConversationID] = ref.seq
					order = append(order, c.ConversationID)
				}
			}
		}
		// A run by id lists nothing: its start entry names its scope.
		source := "its listing entries name"
		if lr.byIDs() {
			source = fmt.Sprintf("its start entry (seq %d) names", lr.firstStart)
			for _, id := range lr.ids {
				if _, ok := listed[id]; !ok && export.ValidID(id) {
					listed[id] = lr.firstStart
					order = append(order, id)
				}
			}
		}
		if unread > 0 && len(items) < counted {
			disagree = append(disagree, fmt.Sprintf("run %s: its listing entries count %d conversations, the run state holds %d (%d listing pages could not be read to name them)", runID, counted, len(items), unread))
		}
		var absent, marked int
		for _, id := range order {
			if c := lf.convs[id]; (c != nil && !c.leafHash.IsZero() && c.seq > lr.firstStart) || lf.erasure.Touched(id) || accounted[id] {
				continue
			}
			accounted[id] = true
			st, ok := state[id]
			what := "holds no item of it"
			if ok {
				what = fmt.Sprintf("says %q", st)
				marked++
			} else {
				absent++
			}
			by := fmt.Sprintf("listed by run %s (listing entry seq %d)", runID, listed[id])
			if lr.byIDs() {
				by = fmt.Sprintf("named by run %s's start entry (seq %d)", runID, listed[id])
			}
			lf.exceptions = append(lf.exceptions, Exception{Kind: KindPending, ConversationID: id,
				Reason: fmt.Sprintf("%s and not captured: the ledger holds no capture of it since the run began; the run state, which is not chained, %s", by, what)})
		}
		if absent+marked > 0 {
			disagree = append(disagree, fmt.Sprintf("run %s: %s %s the ledger holds no capture of since the run began, which the run state does not hold as pending, failed or gone (%d missing from it, %d marked otherwise); section 7 lists each as pending",
				runID, source, plural(absent+marked, "conversation", "conversations"), absent, marked))
		}
	}
	return disagree, nil
}

// readListing reads a listing page from the evidence, checked against its
// address.
func readListing(ctx context.Context, store evidence.Store, ref listingRef) (*genesys.AnalyticsConversationAsyncQueryResponse, error) {
	if store == nil {
		return nil, errors.New("no evidence store")
	}
	b, err := evidence.GetChecked(ctx, store, ref.evidence)
	if err != nil {
		return nil, err
	}
	var p genesys.AnalyticsConversationAsyncQueryResponse
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// disagreementText is what the certificate says when custody's state
// beside the ledger disagrees with the ledger.
func disagreementText(n int) string {
	return fmt.Sprintf("custody's state kept beside the ledger (the matter's name, its runs and their items: not chained, so not covered by its hashes) disagrees with the ledger's entries at %s (section 6 lists each): it was edited or damaged outside custody. This report states the matter's name, the runs and what they did not capture from the ledger's entries.",
		plural(n, "point", "points"))
}

// matterName is the matter's name as its ledger's entries commit to it —
// the first entry's, the name the matter was created with — and, where
// the state row (not chained) or later entries say otherwise, each
// disagreement. An empty ledger commits to nothing: the state's name.
func matterName(stateName string, lf *ledgerFacts) (string, []string) {
	if len(lf.matters) == 0 {
		return stateName, nil
	}
	name := lf.matters[0]
	var disagree []string
	if stateName != name {
		disagree = append(disagree, fmt.Sprintf("the matter's name in custody's state is %q, but its ledger entries commit to %q; the report gives the entries' name", stateName, name))
	}
	for _, other := range lf.matters[1:] {
		disagree = append(disagree, fmt.Sprintf("%s commit to the matter name %q, not %q as the first entry does", plural(lf.matterCounts[other], "entry", "entries"), other, name))
	}
	return name, disagree
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
		if !lr.ended {
			ids = append(ids, id)
			if len(lr.listings) == 0 && !lr.byIDs() {
				nothing++
			}
		}
	}
	if len(ids) == 0 {
		return ""
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := lf.runLedger[id].kind
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

// byIDs reports whether the run's scope is a list of conversation ids
// (its start entry names them) and it has not ended: what it set out to
// capture is known from the chain, and what it has not captured since it
// began is pending. An ended run's end entry accounts for its scope.
func (lr *ledgerRun) byIDs() bool {
	return len(lr.ids) > 0 && !lr.ended
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
	for _, ref := range lr.listings {
		listed += ref.count
	}
	scope := plural(listed, "conversation", "conversations") + " listed"
	if len(lr.ids) > 0 {
		scope = fmt.Sprintf("%s named by its start entry", plural(len(lr.ids), "conversation", "conversations"))
	}
	// A conversation found unchanged since its latest capture appends no
	// entry: what the run appended is not the run state's "done".
	return fmt.Sprintf("; its ledger entries: %s, %d captured by it (a new capture appended each; a conversation it found unchanged appends none, so this is not the run state's count of those done)", scope, lr.captured)
}
