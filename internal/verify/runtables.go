package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// The run state (the runs and run_items tables) and the matter's name
// (a state row) are custody's bookkeeping beside the ledger: not chained,
// so plain SQL edits them and the hashes cannot notice. What they say is
// compared here with the chained entries (start, resume and end entries,
// listing entries and the listing pages they name, every entry's
// matter): custody report states each disagreement and takes the
// entries' word, custody verify warns of each (CheckRunState). One
// comparison, so that the two cannot drift.

// CheckRunState (a warning) is a point where custody's state beside the
// ledger — the run state, the matter's name — disagrees with the chained
// entries: edited or damaged outside custody. Not a failure: the state is
// not evidence, and the entries (which verify checks) are what a report
// states.
const CheckRunState = "run_state"

// RunEntry is one run as the ledger's chained entries record it.
type RunEntry struct {
	FirstStart uint64 // seq of its start entry
	StartedAt  time.Time
	Kind       string
	Scope      json.RawMessage
	Interval   bool // its scope is an interval (not conversation ids)
	// IDs are the conversation ids its start entry's scope names (a run
	// by id: export --ids-file or --conversation, refetch), nil for an
	// interval: what it set out to capture, chained.
	IDs []string
	// Ended: its last run entry is an end entry (status, at, accounting);
	// a resume after an end makes it unended again.
	Ended      bool
	EndStatus  string
	EndedAt    time.Time
	EndSeq     uint64 // of its last end entry
	Accounting json.RawMessage
	Listings   []ListingRef // its listing entries, in order
	Captured   int          // its conversation entries
}

// ListingRef is one listing entry: the page of conversation ids a run
// listed (its evidence) and how many the detail says it holds.
type ListingRef struct {
	Seq      uint64
	Evidence hashchain.Hash
	Count    int
}

// RunEntries gathers, entry by entry in seq order (Add), what the
// chained entries say of the runs and of the matter's name.
type RunEntries struct {
	Runs map[string]*RunEntry
	// Matters are the matter names the entries commit to, in order of
	// first appearance, and MatterCounts how many entries name each.
	Matters      []string
	MatterCounts map[string]int
	// captures, when kept (verify's), is each conversation's latest
	// conversation entry; report has its own.
	captures map[string]uint64
	// lastMatter is Matters' entry the last Add counted (a key of
	// MatterCounts): an entry's strings may be views of a buffer reused
	// after Add (verify's leaf stage), and assigning a map entry by such
	// a key would store the view.
	lastMatter  string
	matterIndex map[string]int // Matters' index of each
	// outputs, when kept (verify's), gathers the report entries' files
	// and the erasure entries' recall lists, for verify --report
	// (Report.MatchReportFile): the pass sees every entry decoded.
	outputs *outputsSeen
}

// NewRunEntries returns an empty RunEntries.
func NewRunEntries() *RunEntries {
	return &RunEntries{Runs: map[string]*RunEntry{}, MatterCounts: map[string]int{}, matterIndex: map[string]int{}}
}

// Add takes one entry; entries must come in seq order. What it keeps
// of e it copies: e's strings may be views of a buffer the caller reuses
// (verify's leaf stage feeds it every entry as it decodes them).
func (r *RunEntries) Add(e *leaf.Entry) {
	if r.outputs != nil {
		r.outputs.add(e)
	}
	if e.Matter != r.lastMatter || len(r.Matters) == 0 {
		i, seen := r.matterIndex[e.Matter] // a lookup stores no key
		if !seen {
			i = len(r.Matters)
			r.Matters = append(r.Matters, strings.Clone(e.Matter))
			r.matterIndex[r.Matters[i]] = i
		}
		r.lastMatter = r.Matters[i]
	}
	r.MatterCounts[r.lastMatter]++
	switch e.Kind {
	case leaf.KindConversation:
		if lr := r.Runs[e.RunID]; lr != nil {
			lr.Captured++
		}
		if r.captures != nil {
			r.captures[strings.Clone(e.ConversationID)] = e.Seq
		}
	case leaf.KindRun:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return // verify reports it
		}
		rd := d.(*leaf.RunDetail)
		start := rd.Event == leaf.RunStart || rd.Event == leaf.RunResume
		lr := r.Runs[e.RunID]
		if lr == nil && start {
			lr = &RunEntry{FirstStart: e.Seq, StartedAt: e.At, Kind: strings.Clone(rd.RunKind), Scope: bytes.Clone(rd.Scope)}
			var sc struct {
				IDs []string `json:"conversation_ids"`
			}
			if json.Unmarshal(rd.Scope, &sc) == nil {
				lr.IDs = sc.IDs
			}
			r.Runs[strings.Clone(e.RunID)] = lr
		}
		if lr == nil {
			return
		}
		switch rd.Event {
		case leaf.RunStart, leaf.RunResume:
			lr.Ended = false
			var sc struct {
				Interval string `json:"interval"`
			}
			if json.Unmarshal(rd.Scope, &sc) == nil && sc.Interval != "" {
				lr.Interval = true
			}
		case leaf.RunEnd:
			lr.Ended, lr.EndStatus, lr.EndedAt, lr.EndSeq, lr.Accounting = true, strings.Clone(rd.Status), e.At, e.Seq, bytes.Clone(rd.Accounting)
		}
	case leaf.KindListing:
		if lr := r.Runs[e.RunID]; lr != nil {
			ref := ListingRef{Seq: e.Seq, Evidence: e.EvidenceSHA256}
			if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				ref.Count = d.(*leaf.ListingDetail).Conversations
			}
			lr.Listings = append(lr.Listings, ref)
		}
	}
}

// Status is the run's status as its entries have it: the end entry's,
// or running when its last run entry is a start or resume.
func (lr *RunEntry) Status() string {
	if lr.Ended {
		return lr.EndStatus
	}
	return ledger.RunRunning
}

// ByIDs reports whether the run's scope is a list of conversation ids
// (its start entry names them) and it has not ended: what it set out to
// capture is known from the chain, and what it has not captured since it
// began is pending. An ended run's end entry accounts for its scope.
func (lr *RunEntry) ByIDs() bool {
	return len(lr.IDs) > 0 && !lr.Ended
}

// CompareRuns returns the runs of the run state with what the ledger's
// run entries say in place of the run state's own (status, end, chained
// accounting), plus the runs the ledger starts and the run state lacks;
// and says where the two disagree.
func (r *RunEntries) CompareRuns(runs []ledger.Run) ([]ledger.Run, []string) {
	var disagree []string
	seen := map[string]bool{}
	out := make([]ledger.Run, 0, len(runs))
	for _, run := range runs {
		seen[run.ID] = true
		lr := r.Runs[run.ID]
		if lr == nil {
			out = append(out, run) // a run the ledger has no run entries of (a diff's)
			continue
		}
		status := lr.Status()
		if run.Status != status {
			disagree = append(disagree, fmt.Sprintf("run %s: the run state says %q, its ledger entries %q (from its start entry, seq %d, on); the report gives the ledger's", run.ID, run.Status, status, lr.FirstStart))
			run.Status = status
		}
		if lr.Ended {
			if !sameJSON(run.Accounting, lr.Accounting) {
				disagree = append(disagree, fmt.Sprintf("run %s: the run state's accounting is not the one its end entry records; the report gives the end entry's", run.ID))
			}
			run.Accounting, run.EndedAt = lr.Accounting, lr.EndedAt
		}
		out = append(out, run)
	}
	var missing []string
	for id := range r.Runs {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	for _, id := range missing {
		lr := r.Runs[id]
		run := ledger.Run{ID: id, Kind: lr.Kind, Scope: lr.Scope, Status: lr.Status(), StartedAt: lr.StartedAt, Accounting: json.RawMessage(`{}`)}
		if len(run.Scope) == 0 {
			run.Scope = json.RawMessage(`{}`)
		}
		if lr.Ended {
			run.EndedAt, run.Accounting = lr.EndedAt, lr.Accounting
		}
		disagree = append(disagree, fmt.Sprintf("run %s: its start entry (seq %d) is in the ledger, but the run state has no such run; the report gives it from the ledger", id, lr.FirstStart))
		out = append(out, run)
	}
	slices.SortStableFunc(out, func(a, b ledger.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, disagree
}

// MatterName is the matter's name as its ledger's entries commit to it —
// the first entry's, the name the matter was created with — and, where
// the state row (not chained) or later entries say otherwise, each
// disagreement. An empty ledger commits to nothing: the state's name.
func (r *RunEntries) MatterName(stateName string) (string, []string) {
	if len(r.Matters) == 0 {
		return stateName, nil
	}
	name := r.Matters[0]
	var disagree []string
	if stateName != name {
		disagree = append(disagree, fmt.Sprintf("the matter's name in custody's state is %q, but its ledger entries commit to %q; the report gives the entries' name", stateName, name))
	}
	for _, other := range r.Matters[1:] {
		disagree = append(disagree, fmt.Sprintf("%d %s commit to the matter name %q, not %q as the first entry does", r.MatterCounts[other], plural(r.MatterCounts[other], "entry", "entries"), other, name))
	}
	return name, disagree
}

// Uncaptured is a conversation a run listed (or named by id) that the
// ledger holds no capture of since the run began, and that the run
// state does not account for.
type Uncaptured struct {
	ConversationID string
	Reason         string
}

// ListedCheck is what ListedNotCaptured compares the runs' listings with.
type ListedCheck struct {
	Store   evidence.Store // where the listing pages are; nil: none can be read
	Erasure *erasure.State // a conversation an erasure touched is not expected
	// Captured is the seq of a conversation's latest conversation entry.
	Captured func(id string) (seq uint64, ok bool)
	// Accounted are the conversations already accounted for as failed,
	// gone or pending; ListedNotCaptured adds those it returns.
	Accounted map[string]bool
	// Page, when not nil, gives the conversation ids of a listing page
	// read and checked already (ok false: not read, ask Store).
	Page func(sum hashchain.Hash) (ids []string, err error, ok bool)
}

// ListedNotCaptured returns each conversation a run's listing pages
// (evidence its listing entries name), or a run by id's start entry,
// hold that the ledger has no capture of since the run began, that no
// erasure touched, and that c.Accounted does not hold; and, per run,
// the disagreement with the run state it is. A listing page that cannot
// be read leaves the run's count to compare: fewer items in the run
// state than its listing entries count is said too.
func (r *RunEntries) ListedNotCaptured(ctx context.Context, l *ledger.Ledger, c ListedCheck) ([]Uncaptured, []string, error) {
	ids := make([]string, 0, len(r.Runs))
	for id, lr := range r.Runs {
		if len(lr.Listings) > 0 || lr.ByIDs() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	// Every run's listing pages, read and parsed on every core first:
	// verify does this after its pass, on its own, and one page at a
	// time the two pages (3 MB) of a 2,000-conversation matter took 11
	// ms of its 400.
	var refs []ListingRef
	for _, runID := range ids {
		refs = append(refs, r.Runs[runID].Listings...)
	}
	type page struct {
		ids []string
		err error
	}
	pages := make([]page, len(refs))
	if err := eachAtOnce(ctx, len(refs), runtime.GOMAXPROCS(0), func(i int) {
		if c.Page != nil {
			var ok bool
			if pages[i].ids, pages[i].err, ok = c.Page(refs[i].Evidence); ok {
				return
			}
		}
		pages[i].ids, pages[i].err = readListing(ctx, c.Store, refs[i])
	}); err != nil {
		return nil, nil, err
	}
	var out []Uncaptured
	var disagree []string
	for _, runID := range ids {
		lr := r.Runs[runID]
		items, err := l.RunItems(ctx, runID, "")
		if err != nil {
			return nil, nil, err
		}
		state := map[string]string{}
		for _, it := range items {
			state[it.ItemID] = it.Status
		}
		counted, unread := 0, 0
		listed := map[string]uint64{} // id → seq of the listing entry naming it
		var order []string
		for _, ref := range lr.Listings {
			counted += ref.Count
			listedIDs, err := pages[0].ids, pages[0].err
			pages = pages[1:]
			if err != nil {
				unread++
				continue
			}
			for _, id := range listedIDs {
				if _, ok := listed[id]; !ok && requestableID(id) {
					listed[id] = ref.Seq
					order = append(order, id)
				}
			}
		}
		// A run by id lists nothing: its start entry names its scope.
		source := "its listing entries name"
		if lr.ByIDs() {
			source = fmt.Sprintf("its start entry (seq %d) names", lr.FirstStart)
			for _, id := range lr.IDs {
				if _, ok := listed[id]; !ok && requestableID(id) {
					listed[id] = lr.FirstStart
					order = append(order, id)
				}
			}
		}
		if unread > 0 && len(items) < counted {
			disagree = append(disagree, fmt.Sprintf("run %s: its listing entries count %d conversations, the run state holds %d (%d listing pages could not be read to name them)", runID, counted, len(items), unread))
		}
		var absent, marked int
		for _, id := range order {
			if seq, ok := c.Captured(id); (ok && seq > lr.FirstStart) || c.Erasure.Touched(id) || c.Accounted[id] {
				continue
			}
			c.Accounted[id] = true
			st, ok := state[id]
			what := "holds no item of it"
			if ok {
				what = fmt.Sprintf("says %q", st)
				marked++
			} else {
				absent++
			}
			by := fmt.Sprintf("listed by run %s (listing entry seq %d)", runID, listed[id])
			if lr.ByIDs() {
				by = fmt.Sprintf("named by run %s's start entry (seq %d)", runID, listed[id])
			}
			out = append(out, Uncaptured{ConversationID: id,
				Reason: fmt.Sprintf("%s and not captured: the ledger holds no capture of it since the run began; the run state, which is not chained, %s", by, what)})
		}
		if absent+marked > 0 {
			disagree = append(disagree, fmt.Sprintf("run %s: %s %d %s the ledger holds no capture of since the run began, which the run state does not hold as pending, failed or gone (%d missing from it, %d marked otherwise); section 7 lists each as pending",
				runID, source, absent+marked, plural(absent+marked, "conversation", "conversations"), absent, marked))
		}
	}
	return out, disagree, nil
}

// requestableID reports whether export would request a listed id
// (genesys.ValidID, export's rule): one that breaks it is never
// requested, and its run state item is recorded failed under a redacted
// id, so it cannot be matched by id.
func requestableID(id string) bool { return genesys.ValidID(id) }

// readListing reads a listing page from the evidence, checked against its
// address, for the conversation ids it names (derive.ListingIDs: one
// pass where it can, the page is large).
func readListing(ctx context.Context, store evidence.Store, ref ListingRef) ([]string, error) {
	if store == nil {
		return nil, errors.New("no evidence store")
	}
	b, err := evidence.GetChecked(ctx, store, ref.Evidence)
	if err != nil {
		return nil, err
	}
	return derive.ListingIDs(b)
}

// AccountingFailure is one failed or gone conversation of a run's
// accounting (export.Accounting's failures: the whole run's).
type AccountingFailure struct {
	ConversationID string `json:"conversation_id"`
	Reason         string `json:"reason"`
	Gone           bool   `json:"gone"`
}

// AccountingFailures reads them from an end entry's accounting; nil
// when it cannot be read.
func AccountingFailures(acct json.RawMessage) []AccountingFailure {
	var a struct {
		Failures []AccountingFailure `json:"failures"`
	}
	if json.Unmarshal(acct, &a) != nil {
		return nil
	}
	return a.Failures
}

// runStateWarnings compares custody's state beside the ledger with its
// chained entries (the comparison custody report states) and adds a
// CheckRunState warning for each disagreement. Only over a ledger whose
// checks all hold (signed or not: an unsigned tail is still what the
// entries say): the entries are the reference, and a failing ledger is
// the finding. The state is read outside verify's snapshot: a run that ends
// while verify reads may show as one disagreement; verify again.
func runStateWarnings(ctx context.Context, l *ledger.Ledger, store evidence.Store, rep *Report) error {
	if !rep.Holds() {
		return nil
	}
	// Every entry, in seq order, as the pass decoded it (Holds: no leaf
	// was refused, so the pass saw them all): not read a second time.
	rt := rep.runs
	if rt == nil {
		return errors.New("verify: internal error: the pass gathered no run entries")
	}
	_, disagree := rt.MatterName(l.Matter())
	runs, err := l.Runs(ctx)
	if err != nil {
		return err
	}
	merged, more := rt.CompareRuns(runs)
	disagree = append(disagree, more...)
	st, err := erasure.Load(ctx, l)
	if err != nil {
		return err
	}
	// What report's section 7 accounts for before it compares listings:
	// the pending items of a run not done, the failed and gone items of
	// one not ended (its run state, by the ledger's status), and the
	// failures of an ended run's accounting not captured since.
	accounted := map[string]bool{}
	for _, run := range merged {
		var statuses []string
		switch run.Status {
		case ledger.RunDone:
		case ledger.RunRunning:
			statuses = []string{ledger.ItemPending, ledger.ItemFailed, ledger.ItemGone}
		default:
			statuses = []string{ledger.ItemPending}
		}
		for _, status := range statuses {
			items, err := l.RunItems(ctx, run.ID, status)
			if err != nil {
				return err
			}
			for _, it := range items {
				accounted[it.ItemID] = true
			}
		}
	}
	for _, lr := range rt.Runs {
		if !lr.Ended {
			continue
		}
		for _, f := range AccountingFailures(lr.Accounting) {
			if seq, ok := rt.captures[f.ConversationID]; !ok || seq < lr.EndSeq {
				accounted[f.ConversationID] = true
			}
		}
	}
	captured := func(id string) (uint64, bool) { seq, ok := rt.captures[id]; return seq, ok }
	// The pages the derive check read (and its evidence check hashed)
	// in the pass are not read and parsed again.
	page := func(sum hashchain.Hash) ([]string, error, bool) {
		p, ok := rep.listings[sum]
		if !ok {
			return nil, nil, false
		}
		return p.ids, p.idsErr, true
	}
	_, more, err = rt.ListedNotCaptured(ctx, l, ListedCheck{Store: store, Erasure: st, Captured: captured, Accounted: accounted, Page: page})
	if err != nil {
		return err
	}
	disagree = append(disagree, more...)
	for _, d := range disagree {
		rep.Warnings = append(rep.Warnings, Finding{Check: CheckRunState, Warning: true,
			Message: "custody's state beside the ledger (not chained, not evidence) disagrees with its entries: " + d})
	}
	return nil
}
