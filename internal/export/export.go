package export

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/erasure"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// RunKind is the kind of run this package records.
const RunKind = "export"

// Defaults.
const (
	DefaultConcurrency = 8
	holdBatch          = genesys.MaxDeletionProtectionIDs
	listPageSize       = 1000 // asked, not documented as allowed: see Options.ListPageSize
	maxItemAttempts    = 3    // passes over a failing conversation within one invocation
)

// Progress receives progress; the command shows it as a bar or log lines.
type Progress interface {
	// Update reports conversations done (exported, failed or gone) out of
	// total listed so far, and the client's request counters.
	Update(done, total int, stats fetch.Stats)
}

// Options configure a run.
type Options struct {
	Scope Scope
	// RunKind is recorded on the run ("export" when empty; refetch runs
	// say "refetch"). Only an unfinished run of the same kind and scope
	// is resumed.
	RunKind string
	// GoneIsFinal: a conversation gone at the source (404) settles its
	// part of the run, which then ends done, not failed. A refetch sets
	// it: the gaps it asks about are answered by the 404 (gone_at_source
	// is a final outcome, and refetch exits 0). An export leaves it
	// false: a listed conversation it could not capture is a shortfall.
	GoneIsFinal bool
	Concurrency int
	SignerKey   string // note signer key for the end-of-run checkpoint
	ToolVersion string
	Log         *slog.Logger
	Progress    Progress
	// ProgressEvery is how often Progress is also told when nothing got
	// done (default 10 s): a run waiting out a long Retry-After, or a
	// slow source, shows it is alive with the counters of the moment.
	ProgressEvery time.Duration
	Now           func() time.Time
	// AuditServiceName and AuditLookback shape the one audit query per
	// run that finds who applied each legal hold.
	AuditServiceName string
	// AuditInterval is the audit query interval; default from the scope's
	// interval start (or 30 days ago, if later) to now, and for an id
	// list from a year ago, the least Genesys keeps audit data.
	AuditInterval string
	// ListPageSize is the pageSize asked of the listing job's results
	// (default 1000). Genesys documents neither a default nor a maximum:
	// a first page refused with it is asked again at the server's default
	// (fetch.Client.ListConversations).
	ListPageSize int
	// ConfiguredRate skips reading the org's limits at start
	// (fetch.Client.ApplyOrgLimits): the client's configured rate is used
	// as is.
	ConfiguredRate bool
}

// Deps are the services a run uses.
type Deps struct {
	Client   *fetch.Client
	Ledger   *ledger.Ledger
	Evidence evidence.Store
}

// Run exports the scope. It returns the accounting even with an error.
// A nil error with Accounting.Complete() false means some conversations
// failed or are gone; rerunning resumes them.
func Run(ctx context.Context, d Deps, o Options) (*Accounting, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.RunKind == "" {
		o.RunKind = RunKind
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AuditServiceName == "" {
		o.AuditServiceName = DefaultAuditServiceName
	}
	// Every log line of the run goes through the client's redactor too.
	o.Log = slog.New(d.Client.Redactor().Handler(o.Log.Handler()))
	r := &runner{d: d, o: o, start: o.Now(), acct: &Accounting{}}
	r.commits = newCommitter(d.Ledger)
	r.group = newGrouper(d.Evidence, r.commits)
	err := r.run(ctx)
	r.invocationStats()
	r.acct.redact(d.Client.Redactor())
	return r.acct, d.Client.Redactor().Err(err)
}

type runner struct {
	d     Deps
	o     Options
	start time.Time
	acct  *Accounting
	runID string

	audits      atomic.Pointer[auditIndex]
	auditsReady chan struct{} // closed when the first audit load ends
	auditsErr   error         // its error, readable once auditsReady is closed
	auditsNeed  auditNeed     // whether a capture needs them, and so the run stops on their failure

	mu   sync.Mutex // guards acct.Invocation and changes, touched by workers
	done atomic.Int64

	// changes are the messages changed at the source this invocation
	// found; recordedChanges those the run's last clean end recorded
	// (begin): with them, the whole run's (count).
	changes, recordedChanges []Change

	erased *erasure.State // conversations erased (custody erase) are not captured again

	// firstCapture: the ledger held no message entry when the run began
	// (a matter's first export), so no message read now can have been
	// captured before but by this run; see captureOne.
	firstCapture bool

	group   *grouper   // stores the evidence of conversations ready together in one batch
	commits *committer // commits the conversations ready together in one transaction

	// noRecordings is set by a 403 from the Recordings service (the
	// OAuth client lacks recording:recording:view): no later conversation
	// asks it again.
	noRecordings atomic.Bool

	// removedWarned: a message with members Genesys removed was seen and
	// warned of (noteRemovedFields), once a run.
	removedWarned atomic.Bool
}

func (r *runner) run(ctx context.Context) error {
	erased, err := erasure.Load(ctx, r.d.Ledger)
	if err != nil {
		return err
	}
	r.erased = erased
	if r.firstCapture, err = noMessageEntries(ctx, r.d.Ledger); err != nil {
		return err
	}
	if err := r.begin(ctx); err != nil {
		return err
	}
	if !r.o.ConfiguredRate {
		// The org's effective limits, where the client may read them, set
		// the pace; refused, the configured rate stays (fetch logs why).
		// No token to be had, an API host that cannot be reached (or
		// Ctrl-C) ends the run at once, recorded.
		if _, err := r.d.Client.ApplyOrgLimits(ctx); err != nil {
			return r.finish(ctx, err)
		}
	}
	// The audit query is asynchronous at the source (create, poll, page):
	// start it now so it runs beside the listing instead of stalling the
	// first batch. Every capture needs its index, so when it cannot be
	// had (refused, or failed again) and the run has a conversation to
	// capture, the listing and the captures stop at once (lctx) and the
	// run ends with its error. A run with none (an empty interval, a
	// resumed run already complete) needs no audit references: it neither
	// waits for the query nor fails on it.
	r.auditsReady = make(chan struct{})
	lctx, lcancel := context.WithCancelCause(ctx)
	defer lcancel(nil)
	r.auditsNeed.stop = lcancel
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(r.auditsReady)
		r.auditsErr = r.queryAudits(actx, ctx)
		if r.auditsErr != nil && actx.Err() == nil {
			r.auditsNeed.failed(r.auditsErr)
		}
	}()
	if err = r.needAuditsForPending(lctx); err == nil {
		err = r.list(lctx)
	}
	if err == nil {
		err = r.captureAll(lctx)
	}
	needed := r.auditsNeed.needed()
	if err != nil || !needed {
		cancel() // a failed run, or one that captured nothing, needs the audits no more
	}
	// The audit query's entries land before the run's end entry and its
	// checkpoint, and nothing of it writes to the ledger or the store after
	// Run returns: stopped, it ends at once.
	<-r.auditsReady
	if needed && r.auditsErr != nil && ctx.Err() == nil && (err == nil || lctx.Err() != nil) {
		// The audit query's failure stopped the run: its error, not the
		// cancellation it caused.
		err = r.auditsErr
	}
	if !needed && err == nil && r.auditsErr != nil && !errors.Is(r.auditsErr, context.Canceled) {
		r.o.Log.Warn("export: the audit query failed; this run had no conversation to capture, so it needed none, but a run that has will stop on it",
			"error", r.auditsErr.Error())
	}
	return r.finish(ctx, err)
}

// noMessageEntries reports whether l holds no message entry at all.
func noMessageEntries(ctx context.Context, l *ledger.Ledger) (bool, error) {
	for _, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, Limit: 1}) {
		return false, err
	}
	return true, nil
}

// Unfinished reports whether a run of kind over scope is unfinished: a
// Run with the same options would resume it.
func Unfinished(ctx context.Context, l *ledger.Ledger, kind string, scope Scope) (bool, error) {
	runs, err := l.Runs(ctx)
	if err != nil {
		return false, err
	}
	run, _ := unfinished(runs, kind, scope)
	return run != nil, nil
}

// unfinished is the run of runs a run of kind over scope resumes: the
// last unfinished one of that kind and scope key begun with the same
// --media setting; otherMedia names one of that key begun with the other.
func unfinished(runs []ledger.Run, kind string, scope Scope) (run *ledger.Run, otherMedia string) {
	key := scope.Key()
	for i := range runs {
		if runs[i].Kind != kind || runs[i].Status == ledger.RunDone {
			continue
		}
		var s struct {
			Key       string `json:"key"`
			WithMedia bool   `json:"with_media"`
		}
		if json.Unmarshal(runs[i].Scope, &s) != nil || s.Key != key {
			continue
		}
		if s.WithMedia != scope.WithMedia {
			// Not the same run: resumed, it would capture the rest of its
			// conversations with their attachments, or without, unlike
			// the first (media is part of the scope, recorded as
			// with_media, though not of the key runs recorded before it
			// counted).
			otherMedia = runs[i].ID
			continue
		}
		run = &runs[i]
	}
	return run, otherMedia
}

// begin finds the unfinished run of the same scope or starts a new one,
// and records the start in the ledger.
func (r *runner) begin(ctx context.Context) error {
	key := r.o.Scope.Key()
	runs, err := r.d.Ledger.Runs(ctx)
	if err != nil {
		return err
	}
	run, otherMedia := unfinished(runs, r.o.RunKind, r.o.Scope)
	if run != nil {
		r.runID, r.acct.Resumed = run.ID, true
		var recorded struct {
			Changes []Change `json:"changed_at_source"`
		}
		_ = json.Unmarshal(run.Accounting, &recorded) // "{}" after a kill -9: none
		r.recordedChanges = recorded.Changes
	}
	if r.runID == "" {
		r.runID = NewRunID("run", r.o.Now())
		if otherMedia != "" {
			r.acct.MediaOtherRun = otherMedia
			r.o.Log.Warn(fmt.Sprintf("export: the unfinished %s run %s of the same scope was begun with --media=%t; this one has --media=%t, so it starts a new run %s rather than resume that one with another media setting (%s is left unfinished: rerun with --media=%t to resume it)",
				r.o.RunKind, otherMedia, !r.o.Scope.WithMedia, r.o.Scope.WithMedia, r.runID, otherMedia, !r.o.Scope.WithMedia))
		}
	}
	r.acct.RunID = r.runID
	host, _ := os.Hostname()
	operator := "unknown"
	if u, err := user.Current(); err == nil {
		operator = u.Username
	}
	scope, err := json.Marshal(struct {
		Scope
		Key string `json:"key"`
	}{r.o.Scope, key})
	if err != nil {
		return fmt.Errorf("export: scope: %w", err)
	}
	event := leaf.RunStart
	if r.acct.Resumed {
		event = leaf.RunResume
	}
	detail, err := leaf.EncodeDetail(&leaf.RunDetail{
		Event: event, RunKind: r.o.RunKind, Operator: operator, Host: host,
		Tool: "custody", ToolVersion: r.o.ToolVersion,
		Scope: scope, Evidence: r.d.Evidence.URL(),
		APIURL: r.d.Client.APIURL(), ClientIDs: r.d.Client.ClientIDs(),
	})
	if err != nil {
		return fmt.Errorf("export: run entry: %w", err)
	}
	return r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		run, ok, err := tx.Run(r.runID)
		if err != nil {
			return err
		}
		if !ok {
			run = ledger.Run{ID: r.runID, Kind: r.o.RunKind, Matter: r.o.Scope.Matter, Scope: scope, StartedAt: r.o.Now()}
		}
		run.Status = ledger.RunRunning
		if err := tx.PutRun(run); err != nil {
			return err
		}
		if err := startTally(tx, r.runID, r.acct.Resumed); err != nil {
			return err
		}
		_, err = tx.Append(leaf.Entry{Kind: leaf.KindRun, Matter: r.o.Scope.Matter, RunID: r.runID, Detail: detail})
		return err
	})
}

// NewRunID names a run: its kind, its start (UTC, seconds) and 32 random
// bits, so ids sort by time and two runs started in the same second differ.
func NewRunID(kind string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%x", kind, t.UTC().Format("20060102T150405Z"), b)
}

// finish records the outcome: run state, a closing run entry with the
// accounting, and a signed checkpoint (also stored beside the evidence).
func (r *runner) finish(ctx context.Context, runErr error) error {
	if err := r.count(ctx); err != nil && runErr == nil {
		runErr = err
	}
	if n := r.acct.MessagesWithoutMedia; n > 0 && r.o.Scope.WithMedia {
		// Each such message is re-captured with its attachments
		// (MessagesRecaptured) unless its latest capture changed between
		// the read and the commit (another writer's): the next run does it.
		r.o.Log.Warn(fmt.Sprintf("export: %d captured messages of this run have attachments the ledger does not hold: captured with --media=false, and their latest capture changed while this run read them, so they were not re-captured with their attachments; rerun to download them (their urls stop working 30 days after the message)", n),
			"messages_without_media", n)
	}
	status := ledger.RunDone
	var dl *fetch.DailyLimitError
	switch {
	case errors.As(runErr, &dl):
		status = "stopped"
		r.acct.StopReason = dl.Error()
		r.acct.ResumeAt = dl.Until.UTC().Format(time.RFC3339)
	case runErr != nil && ctx.Err() != nil:
		status = ledger.RunCancelled
		r.acct.StopReason = "cancelled"
	case runErr != nil:
		status = ledger.RunFailed
		r.acct.StopReason = runErr.Error()
	case r.o.GoneIsFinal && !r.acct.completeGoneFinal(), !r.o.GoneIsFinal && !r.acct.Complete():
		status = ledger.RunFailed
	}
	r.acct.Status = status
	r.acct.redact(r.d.Client.Redactor())
	r.invocationStats()
	acct, err := json.Marshal(r.acct)
	if err != nil {
		return errors.Join(runErr, fmt.Errorf("export: accounting: %w", err))
	}
	detail, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunEnd, Status: status, Accounting: acct})
	// The closing records must land even when the run was cancelled.
	wctx := context.WithoutCancel(ctx)
	err = r.d.Ledger.Update(wctx, func(tx *ledger.Tx) error {
		run, ok, err := tx.Run(r.runID)
		if err != nil || !ok {
			return fmt.Errorf("export: run %s vanished: %w", r.runID, err)
		}
		run.Status, run.EndedAt, run.Accounting = status, r.o.Now(), acct
		if err := tx.PutRun(run); err != nil {
			return err
		}
		_, err = tx.Append(leaf.Entry{Kind: leaf.KindRun, Matter: r.o.Scope.Matter, RunID: r.runID, Detail: detail})
		return err
	})
	if err != nil {
		return errors.Join(runErr, err)
	}
	if r.o.SignerKey != "" {
		cp, err := r.d.Ledger.Checkpoint(wctx, r.o.SignerKey)
		if err != nil {
			return errors.Join(runErr, fmt.Errorf("export: checkpoint: %w", err))
		}
		r.acct.Checkpoint = string(cp.Note)
		name := fmt.Sprintf("checkpoints/%d.note", cp.Checkpoint.Size)
		if err := r.d.Evidence.PutFile(wctx, name, cp.Note); err != nil {
			return errors.Join(runErr, fmt.Errorf("export: checkpoint beside evidence: %w", err))
		}
	}
	return runErr
}

// invocationStats sets this invocation's request figures and wall time.
func (r *runner) invocationStats() {
	st := r.d.Client.Stats()
	inv := &r.acct.Invocation
	inv.Requests, inv.TooMany, inv.Retries = st.Requests, st.RateLimited, st.Retries
	inv.Wall = seconds(r.o.Now().Sub(r.start))
}

// count fills the whole run's accounting: conversations from the run
// items, the rest from the run's tally (tally).
func (r *runner) count(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	items, err := r.d.Ledger.RunItems(ctx, r.runID, "")
	if err != nil {
		return err
	}
	v, ok, err := r.d.Ledger.State(ctx, tallyKey(r.runID))
	t, ok, err := readTally(r.runID, v, ok, err)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.acct
	a.Unchanged, a.Changed = t.Unchanged, t.Changed
	a.MessagesAppended, a.MessagesUnchanged, a.MessagesChanged, a.MessagesGone = t.MessagesAppended, t.MessagesUnchanged, t.MessagesChanged, t.MessagesGone
	a.MediaDownloaded, a.MediaExpired, a.MediaRefused, a.MediaMismatch = t.MediaDownloaded, t.MediaExpired, t.MediaRefused, t.MediaMismatch
	a.MessagesWithoutMedia, a.MessagesRecaptured = t.NoMedia, t.MessagesRecaptured
	a.MediaNotCaptured, a.MediaRetryable = t.MediaNotCaptured, t.MediaRetryable
	a.CountsPartial = !ok || t.Partial
	// The changes recorded at the last clean end and this invocation's
	// are the run's, unless an invocation between was killed after
	// finding some: then the ledger says which (changesOfRun).
	a.ChangedAtSource = sortChanges(append(slices.Clone(r.recordedChanges), r.changes...))
	if len(a.ChangedAtSource) < t.MessagesChanged {
		if a.ChangedAtSource, err = changesOfRun(ctx, r.d.Ledger, r.runID); err != nil {
			return err
		}
	}
	a.Listed, a.Exported, a.Erased, a.ErasedInPart, a.Failed, a.Gone, a.Pending = len(items), 0, 0, 0, 0, 0, 0
	a.Failures = a.Failures[:0]
	runConvs := make(map[string]bool, len(items))
	for _, it := range items {
		runConvs[it.ItemID] = true
		switch it.Status {
		case ledger.ItemDone:
			if it.Reason == erasedReason {
				a.Erased++
				if r.erased != nil && !r.erased.Conversation(it.ItemID) {
					// Some messages erased, the rest still the ledger's:
					// new ones at the source are never captured.
					a.ErasedInPart++
				}
			} else {
				a.Exported++
			}
		case ledger.ItemFailed:
			a.Failed++
			a.Failures = append(a.Failures, Failure{ConversationID: it.ItemID, Reason: it.Reason})
		case ledger.ItemGone:
			a.Gone++
			a.Failures = append(a.Failures, Failure{ConversationID: it.ItemID, Reason: it.Reason, Gone: true})
		default:
			a.Pending++
		}
	}
	sort.Slice(a.Failures, func(i, j int) bool { return a.Failures[i].ConversationID < a.Failures[j].ConversationID })
	if a.Failures == nil {
		a.Failures = []Failure{}
	}
	r.accountAudits(runConvs)
	return nil
}
