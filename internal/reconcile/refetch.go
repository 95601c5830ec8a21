package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// RunKindRefetch is the run kind of a refetch (its entries are of kind
// leaf.KindRefetch, the same name).
const RunKindRefetch = "refetch"

// Outcomes of a gap after a refetch.
const (
	// Filled: a message the export held but the ledger did not is now captured.
	Filled = "filled"
	// Confirmed: a captured message the export lacked is still at the
	// source; the ledger holds it (the export is what is incomplete).
	Confirmed = "confirmed_at_source"
	// StillMissing: the conversation could not be captured this time
	// (see the reason); rerun to retry.
	StillMissing = "still_missing"
	// GoneAtSource: the conversation (or message) no longer exists at the
	// source: deleted upstream (404).
	GoneAtSource = "gone_at_source"
	// NotAtSource: the export holds a message the source does not have in
	// that conversation: fabricated, or deleted upstream before capture.
	NotAtSource = "not_at_source"
	// NotRefetchable: the gap's conversation id is not a Genesys id (the
	// export's content is hostile), so no request can ask for it; or its
	// message id is not, so no capture can hold it (export refuses such a
	// message). Listed, never dropped, and not recorded in the ledger: the
	// diff's findings already are. An id of such a gap longer than
	// maxShownID is shown cut (shownID).
	NotRefetchable = "not_refetchable"
	// Erased: the gap is in a conversation erased whole or in part
	// (custody erase), which is not captured again: the source was not
	// asked, and the outcome says so, with the erasure entry. Final.
	Erased = "erased"
)

// appendBatch is how many refetch entries one ledger append takes.
const appendBatch = 1000

// NotRefetchable outcomes' details.
const (
	notRefetchableDetail        = "conversation id is not a Genesys id: cannot be asked for"
	notRefetchableMessageDetail = "message id is not a Genesys id: no capture can hold it"
)

// maxShownID is the longest id an outcome shows whole: no Genesys id is
// longer than 128 bytes (export.ValidID), so a longer one is hostile
// content of the export, or of a findings file, not to be echoed.
const maxShownID = 256

// ErrNoDiff: there is no recorded diff to refetch from.
var ErrNoDiff = errors.New("reconcile: no recorded diff")

// isGap reports whether f is a gap: a finding refetch reports on.
func isGap(f diff.Finding) bool { return finding.IsGap(f.Kind) }

// notRefetchable is why a gap cannot be refetched ("" when it can): its
// conversation id, or its message id, is not a Genesys id. Checked
// before the ids are used in a request or written to the ledger.
func notRefetchable(f diff.Finding) string {
	switch {
	case !export.ValidID(f.ConversationID):
		return notRefetchableDetail
	case f.MessageID != "" && !export.ValidID(f.MessageID):
		return notRefetchableMessageDetail
	}
	return ""
}

// shownID is id as an outcome shows it: whole up to maxShownID bytes,
// else its first 64 bytes (whole characters), "…" and its length.
func shownID(id string) string {
	if len(id) <= maxShownID {
		return id
	}
	return fmt.Sprintf("%s… (%d bytes)", cutUTF8(id, 64), len(id))
}

// LoadGaps reads back the gaps of a recorded diff ("latest" for the most
// recent one) — the findings refetch acts on — streaming the stored
// findings from the evidence store and checking their hash, so memory
// grows with the gaps, not with the findings.
func LoadGaps(ctx context.Context, l *ledger.Ledger, store evidence.Store, runID string) (string, []diff.Finding, error) {
	id, gaps, err := loadFindings(ctx, l, store, runID, isGap)
	if errors.Is(err, ErrNoDiff) {
		// Refetch also reads a findings file (--findings); produce does not,
		// so each caller says what it takes.
		err = fmt.Errorf("%w, or pass a findings file", err)
	}
	return id, gaps, err
}

// loadFindings reads back the findings of a recorded diff that keep
// accepts (LoadGaps).
func loadFindings(ctx context.Context, l *ledger.Ledger, store evidence.Store, runID string, keep func(diff.Finding) bool) (string, []diff.Finding, error) {
	run, res, err := FindDiff(ctx, l, runID)
	if err != nil {
		return "", nil, err
	}
	var kept []diff.Finding
	if err := StreamFindings(ctx, store, run.ID, res, func(f diff.Finding) error {
		if keep(f) {
			kept = append(kept, f)
		}
		return nil
	}); err != nil {
		return "", nil, err
	}
	return run.ID, kept, nil
}

// partsReader reads evidence objects one after another, fetching each
// only when the one before is used up.
type partsReader struct {
	ctx   context.Context
	store evidence.Store
	parts []string
	cur   bytes.Reader
}

func (r *partsReader) Read(p []byte) (int, error) {
	for r.cur.Len() == 0 {
		if len(r.parts) == 0 {
			return 0, io.EOF
		}
		sum, err := hashchain.ParseHash(r.parts[0])
		if err != nil {
			return 0, fmt.Errorf("findings evidence: %w", err)
		}
		b, err := evidence.GetChecked(r.ctx, r.store, sum)
		if errors.Is(err, fs.ErrNotExist) {
			// custody erase deletes the findings objects that name what it
			// erases (they keep the values compared): the diff is read no more.
			return 0, fmt.Errorf("findings evidence %s is not in the store (an erasure deletes a diff's findings objects that name what it erased: 'custody log --kind erasure' names them in its diffs): run custody diff again on the export to record its findings anew: %w", r.parts[0], err)
		}
		if err != nil {
			return 0, fmt.Errorf("findings evidence %s: %w", r.parts[0], err)
		}
		r.parts = r.parts[1:]
		r.cur.Reset(b)
	}
	return r.cur.Read(p)
}

// ErrNotFindings: a findings file is not of a shape custody diff writes,
// or holds a record that is not a finding.
var ErrNotFindings = errors.New("not a findings file")

// ReadFindings reads findings as custody diff writes them: JSON Lines
// (--output jsonl), the object {"findings":[…],"summary":{…}} (--output
// json), or one JSON array. Every record must be a finding of a kind diff
// has: an object with no findings member, or a record without a known
// kind, is ErrNotFindings rather than no findings; so is the output of a
// diff that failed (its "error" record or member), and a record longer
// than MaxFindingBytes, refused once that much is read. An error names
// the line its record starts on, and quotes little of the file.
func ReadFindings(r io.Reader) ([]diff.Finding, error) {
	ff, err := ReadFindingsFile(r)
	if err != nil {
		return nil, err
	}
	return ff.Findings, nil
}

// FindingsFile is a findings file read by ReadFindingsFile.
type FindingsFile struct {
	Findings []diff.Finding
	// LinesSHA256 is SHA-256 of the records as the file holds them, a
	// line feed after each: what a recorded diff's FindingsSHA256 covers,
	// so a file custody diff wrote (--output jsonl or json), whole and
	// unchanged, has the hash its diff recorded.
	LinesSHA256 string
	// RunID is the diff the file names: --output json of a recorded diff.
	RunID string
}

// ReadFindingsFile is ReadFindings keeping what RecordedDiff needs to tell
// which recorded diff, if any, the file is the whole output of.
func ReadFindingsFile(r io.Reader) (*FindingsFile, error) {
	h := sha256.New()
	ff := &FindingsFile{}
	fs, err := readFindingsFrom(r, readOptions{seen: func(raw []byte) {
		h.Write(raw)
		h.Write([]byte{'\n'})
	}, runID: &ff.RunID, knownKinds: true})
	if err != nil {
		return nil, err
	}
	ff.Findings, ff.LinesSHA256 = fs, hex.EncodeToString(h.Sum(nil))
	return ff, nil
}

// RecordedDiff returns the recorded diff of l whose whole findings ff
// holds, unchanged: the diff ff names (its run_id), else the latest diff
// that recorded ff's findings hash; "" when no diff did (a file cut short
// or edited, or the output of 'custody diff --no-record'). A file that
// names a diff l has not recorded, or whose findings are not that diff's,
// is an error: acting on it would credit a diff with what it did not find.
func RecordedDiff(ctx context.Context, l *ledger.Ledger, ff *FindingsFile) (string, error) {
	if ff.RunID != "" {
		run, res, err := FindDiff(ctx, l, ff.RunID)
		if errors.Is(err, ErrNoDiff) {
			return "", fmt.Errorf("reconcile: findings: %w: they name diff %s, which this matter has not recorded (another matter's diff?)", ErrNotFindings, ff.RunID)
		}
		if err != nil {
			return "", err
		}
		if res.FindingsSHA256 != ff.LinesSHA256 {
			return "", fmt.Errorf("reconcile: findings: %w: they name diff %s, but are not the findings it recorded (hash %s, recorded %s): cut short or edited; 'custody refetch --diff %s' reads the recorded ones",
				ErrNotFindings, run.ID, ff.LinesSHA256, res.FindingsSHA256, run.ID)
		}
		return run.ID, nil
	}
	runs, err := l.Runs(ctx)
	if err != nil {
		return "", err
	}
	match := ""
	for _, run := range runs { // in the order they started: the last match is the latest
		if run.Kind != RunKindDiff {
			continue
		}
		var res DiffResult
		if err := json.Unmarshal(run.Accounting, &res); err != nil {
			return "", fmt.Errorf("reconcile: diff %s: %w", run.ID, err)
		}
		if res.FindingsSHA256 == ff.LinesSHA256 {
			match = run.ID
		}
	}
	return match, nil
}

// readFindings is ReadFindings keeping only the findings keep accepts
// (all when keep is nil).
func readFindings(r io.Reader, keep func(diff.Finding) bool) ([]diff.Finding, error) {
	return readFindingsFrom(r, readOptions{keep: keep})
}

// Outcome is what became of one gap.
type Outcome struct {
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id,omitempty"`
	Finding        string `json:"finding"` // the diff finding kind
	Outcome        string `json:"outcome"`
	Detail         string `json:"detail,omitempty"`
	// EarlierRun, when set, is the refetch run that recorded this
	// outcome, a final one, for the same diff: this run did not ask the
	// source again (RefetchOptions.Again) nor record it anew.
	EarlierRun string `json:"earlier_run,omitempty"`
}

// RefetchOptions are Refetch's own options.
type RefetchOptions struct {
	// Again asks the source again about every gap, even those an earlier
	// refetch of the same diff gave a final outcome (every outcome but
	// still_missing), and records each outcome anew.
	Again bool
}

// Result is the outcome of a refetch.
type Result struct {
	DiffRunID string         `json:"diff_run_id,omitempty"`
	Gaps      int            `json:"gaps"`
	Counts    map[string]int `json:"counts"`
	// Earlier is how many gaps an earlier refetch of the same diff
	// decided for good: among Counts and Outcomes (with EarlierRun), not
	// asked about again. Export is nil when no gap was left to ask about.
	Earlier  int                `json:"earlier"`
	Outcomes []Outcome          `json:"outcomes"`
	Export   *export.Accounting `json:"export"`
	// Stopped says why the refetch ended before it decided and recorded
	// the outcome of every gap — "cancelled" (Ctrl-C, SIGTERM), or the
	// error that stopped it (the API's daily limit, no access token, the
	// ledger) — with Refetch's error. Counts and Outcomes then hold only
	// the outcomes recorded (none, unless the ledger failed part-way) and
	// those of the gaps decided without asking the source
	// (not_refetchable); Export is the run's accounting as far as it went.
	Stopped string `json:"stopped,omitempty"`
}

// Complete reports whether every gap was filled or confirmed.
func (r *Result) Complete() bool { return r.Counts[Filled]+r.Counts[Confirmed] == r.Gaps }

// Retryable is the number of gaps a rerun may still fill (still_missing).
// Gaps gone_at_source or not_at_source are final answers about the
// source, and erased gaps final answers about the matter: no rerun
// changes them.
func (r *Result) Retryable() int { return r.Counts[StillMissing] }

// Final is the number of gaps the source cannot fill (gone_at_source,
// not_at_source): recorded, and reported, but not work left. Gaps
// not_refetchable and erased are not among them: the source was never
// asked.
func (r *Result) Final() int { return r.Counts[GoneAtSource] + r.Counts[NotAtSource] }

// Refetch captures again every conversation with a gap among findings,
// through the export machinery (a run of kind "refetch"), then decides and
// records in the ledger what became of each gap. It is rerunnable: the
// export is idempotent; a gap an earlier refetch of the same diff gave a
// final outcome is not asked about or recorded again (unless ro.Again),
// so a rerun retries what is left (still_missing) and a daily rerun of a
// finished refetch asks nothing. With an error it still returns the
// result as far as it went, Stopped saying why.
func Refetch(ctx context.Context, d export.Deps, findings []diff.Finding, diffRunID string, o export.Options, ro RefetchOptions) (_ *Result, err error) {
	var gaps []diff.Finding
	convSet := map[string]bool{}
	var convs []string
	res := &Result{DiffRunID: diffRunID, Counts: map[string]int{}, Outcomes: []Outcome{}}
	defer func() {
		if err != nil {
			res.Stopped = stopReason(ctx, res.Export, err)
		}
	}()
	for _, f := range findings {
		if !isGap(f) {
			continue
		}
		res.Gaps++
		if why := notRefetchable(f); why != "" {
			res.Outcomes = append(res.Outcomes, Outcome{ConversationID: shownID(f.ConversationID), MessageID: shownID(f.MessageID),
				Finding: string(f.Kind), Outcome: NotRefetchable, Detail: why})
			res.Counts[NotRefetchable]++
			continue
		}
		gaps = append(gaps, f)
		if !convSet[f.ConversationID] {
			convSet[f.ConversationID] = true
			convs = append(convs, f.ConversationID)
		}
	}
	sort.Strings(convs)
	o.RunKind, o.GoneIsFinal = RunKindRefetch, true
	o.Scope.Interval, o.Scope.MediaType, o.Scope.MessageType = "", "", ""
	if len(gaps) == 0 {
		return res, nil
	}
	// A conversation erased whole or in part is not captured again
	// (export): what the ledger holds of it says nothing of the source.
	erased, err := erasure.Load(ctx, d.Ledger)
	if err != nil {
		return res, err
	}
	if diffRunID != "" && !ro.Again {
		// An unfinished run over every gap's conversation (cancelled, or
		// one with failures) is resumed, as before, rather than left
		// unfinished beside a smaller run: so nothing is left out then.
		full := o.Scope
		full.IDs = convs
		unfinished, err := export.Unfinished(ctx, d.Ledger, o.RunKind, full)
		if err != nil {
			return res, err
		}
		if !unfinished {
			earlier, err := finalOutcomes(ctx, d.Ledger, diffRunID, convs)
			if err != nil {
				return res, err
			}
			gaps, convs = leaveDecided(res, gaps, earlier, erased)
		}
	}
	if len(gaps) == 0 {
		return res, nil
	}
	o.Scope.IDs = convs
	acct, err := export.Run(ctx, d, o)
	res.Export = acct
	if err != nil {
		return res, err
	}
	items, err := d.Ledger.RunItems(ctx, acct.RunID, "")
	if err != nil {
		return res, err
	}
	status := map[string]ledger.RunItem{}
	for _, it := range items {
		status[it.ItemID] = it
	}
	// The outcomes join the result as they are recorded: a refetch
	// stopped lists none it did not record.
	var entries []leaf.Entry
	var decided []Outcome
	for _, g := range gaps {
		out := Outcome{ConversationID: g.ConversationID, MessageID: g.MessageID, Finding: string(g.Kind)}
		it := status[g.ConversationID]
		switch {
		case erased.Touched(g.ConversationID):
			out.Outcome, out.Detail = Erased, erasedDetail(erased, g)
		case it.Status == ledger.ItemGone:
			out.Outcome, out.Detail = GoneAtSource, it.Reason
		case it.Status == ledger.ItemDone:
			out.Outcome, out.Detail, err = messageOutcome(ctx, d.Ledger, g)
			if err != nil {
				return res, err
			}
		default:
			out.Outcome, out.Detail = StillMissing, it.Reason
		}
		decided = append(decided, out)
		detail, err := leaf.EncodeDetail(&leaf.RefetchDetail{DiffRunID: diffRunID, RefetchRunID: acct.RunID,
			Finding: out.Finding, Outcome: out.Outcome, Reason: out.Detail})
		if err != nil {
			return res, err
		}
		entries = append(entries, leaf.Entry{Kind: leaf.KindRefetch, Matter: o.Scope.Matter, RunID: acct.RunID,
			ConversationID: g.ConversationID, MessageID: g.MessageID, Detail: detail})
	}
	wctx := context.WithoutCancel(ctx)
	for i := 0; i < len(entries); i += appendBatch {
		j := min(i+appendBatch, len(entries))
		if _, err := d.Ledger.Append(wctx, entries[i:j]...); err != nil {
			return res, err
		}
		for _, out := range decided[i:j] {
			res.Outcomes = append(res.Outcomes, out)
			res.Counts[out.Outcome]++
		}
	}
	// The outcomes come after the export's own checkpoint: sign again so
	// they too are covered.
	if o.SignerKey != "" {
		if _, err := d.Ledger.Checkpoint(wctx, o.SignerKey); err != nil {
			return res, fmt.Errorf("reconcile: checkpoint: %w", err)
		}
	}
	return res, nil
}

// gapKey names a gap: its conversation, message and finding kind.
type gapKey struct{ conv, msg, kind string }

// finalOutcomes is the latest outcome each gap of the diff diffRunID in
// the conversations convs was given by a refetch, where that outcome is
// final (not still_missing), with the run that recorded it.
func finalOutcomes(ctx context.Context, l *ledger.Ledger, diffRunID string, convs []string) (map[gapKey]Outcome, error) {
	out := map[gapKey]Outcome{}
	for _, c := range convs {
		for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindRefetch, ConversationID: c}) {
			if err != nil {
				return nil, fmt.Errorf("reconcile: earlier refetches: %w", err)
			}
			var rd leaf.RefetchDetail
			if json.Unmarshal(e.Detail, &rd) != nil || rd.DiffRunID != diffRunID {
				continue // another diff's (or not one custody wrote): asked anew
			}
			k := gapKey{e.ConversationID, e.MessageID, rd.Finding}
			if rd.Outcome == StillMissing {
				delete(out, k) // the latest says: left to retry
				continue
			}
			out[k] = Outcome{ConversationID: e.ConversationID, MessageID: e.MessageID, Finding: rd.Finding,
				Outcome: rd.Outcome, Detail: rd.Reason, EarlierRun: rd.RefetchRunID}
		}
	}
	return out, nil
}

// leaveDecided takes out of gaps those earlier gave a final outcome,
// adding them to res as decided earlier, and returns the gaps left and
// their conversations. A gap in a conversation erased since (erased) is
// left, unless it was decided erased: its outcome is now erased.
func leaveDecided(res *Result, gaps []diff.Finding, earlier map[gapKey]Outcome, erased *erasure.State) ([]diff.Finding, []string) {
	var left []diff.Finding
	var convs []string
	seen := map[string]bool{}
	for _, g := range gaps {
		if oc, ok := earlier[gapKey{g.ConversationID, g.MessageID, string(g.Kind)}]; ok && (oc.Outcome == Erased || !erased.Touched(g.ConversationID)) {
			res.Outcomes = append(res.Outcomes, oc)
			res.Counts[oc.Outcome]++
			res.Earlier++
			continue
		}
		left = append(left, g)
		if !seen[g.ConversationID] {
			seen[g.ConversationID] = true
			convs = append(convs, g.ConversationID)
		}
	}
	sort.Strings(convs)
	return left, convs
}

// erasedDetail is why a gap in a conversation erased whole or in part
// was not asked about (outcome Erased), naming the erasure entry.
func erasedDetail(st *erasure.State, g diff.Finding) string {
	if r, ok := st.ConversationRecord(g.ConversationID); ok {
		return fmt.Sprintf("not asked: the conversation was erased by custody erase (erasure entry %d) and is not captured again", r.Seq)
	}
	if r, ok := st.MessageRecord(g.ConversationID, g.MessageID); ok && g.MessageID != "" {
		return fmt.Sprintf("not asked: the message was erased by custody erase (erasure entry %d), and its conversation is not captured again", r.Seq)
	}
	r, _ := st.TouchedRecord(g.ConversationID)
	return fmt.Sprintf("not asked: messages of the conversation were erased by custody erase (erasure entry %d), so it is not captured again", r.Seq)
}

// stopReason is Result.Stopped for a refetch that ended with err: the
// run's own stop reason when it has one ("cancelled" for a Ctrl-C), else
// err's message.
func stopReason(ctx context.Context, acct *export.Accounting, err error) string {
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case acct != nil && acct.StopReason != "":
		return acct.StopReason
	}
	return err.Error()
}

// messageOutcome decides a gap's outcome once its conversation was captured.
func messageOutcome(ctx context.Context, l *ledger.Ledger, g diff.Finding) (string, string, error) {
	if g.MessageID == "" {
		return Filled, "conversation captured", nil
	}
	// The gap's own conversation's capture: one message id may be
	// captured in two conversations, and the latest by id alone may be
	// the other's.
	latest, err := l.LatestCaptures(ctx, []string{g.MessageID})
	if err != nil {
		return "", "", err
	}
	if e, ok := latest[ledger.Capture{ConversationID: g.ConversationID, MessageID: g.MessageID}]; ok {
		if gone, err := goneInLatest(ctx, l, g.ConversationID, g.MessageID); err != nil || gone {
			return GoneAtSource, "the message was deleted upstream after it was captured", err
		}
		if g.Kind == finding.MissingFromExport {
			return Confirmed, fmt.Sprintf("captured at seq %d", e.Seq), nil
		}
		return Filled, fmt.Sprintf("captured at seq %d", e.Seq), nil
	}
	if gone, err := goneInLatest(ctx, l, g.ConversationID, g.MessageID); err != nil || gone {
		return GoneAtSource, "the source lists the message but answers 404: deleted upstream", err
	}
	return NotAtSource, "the conversation at the source has no such message", nil
}

// goneInLatest reports whether the latest capture of the conversation
// lists the message among those the source no longer has.
func goneInLatest(ctx context.Context, l *ledger.Ledger, convID, msgID string) (bool, error) {
	e, ok, err := l.LatestConversation(ctx, convID)
	if err != nil || !ok {
		return false, err
	}
	d, err := leaf.DecodeDetail(leaf.KindConversation, e.Detail)
	if err != nil {
		return false, nil // a detail it cannot read lists nothing
	}
	return slices.Contains(d.(*leaf.ConversationDetail).MessagesGone, msgID), nil
}
