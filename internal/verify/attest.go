package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/witness"
)

// Checks of the attestations others made of checkpoints.
const (
	CheckTimestamp        = "timestamp"         // a stored RFC 3161 token does not prove its checkpoint's time
	CheckTimestampMissing = "timestamp_missing" // (warning) an authority gave a checkpoint no token
	CheckWitness          = "witness"           // too few valid witness cosignatures, or a forged one
)

// Which roots a checkpoint's time was checked against
// (CheckpointTime.Roots).
const (
	// RootsGiven: the roots given to verify (Options.TSARoots,
	// --tsa-roots): the time is proven, as far as the verifier trusts
	// them.
	RootsGiven = "tsa-roots"
	// RootsMatter: only the roots the matter itself names (its tsa_roots
	// setting, Options.MatterTSARoots), which whoever can change the
	// ledger file can change: the time is the token's claim, not proven.
	RootsMatter = "matter"
	// RootsNone: no roots; the token's imprint and signature only (its
	// own certificate, which anyone can make): a claim, not proven.
	RootsNone = "none"
)

// CheckpointTime is the earliest time a checkpoint's timestamp tokens
// that verify state: the earliest genTime among them. It is proven only
// when Chained (Roots is RootsGiven); otherwise it is what the token
// claims.
type CheckpointTime struct {
	Checkpoint string    `json:"checkpoint"` // "stored #3"
	Size       uint64    `json:"size"`
	ProvenAt   time.Time `json:"proven_at"` // the time the token states (proven only when Chained)
	TSA        string    `json:"tsa"`       // the authority whose token states it
	// Chained: the token's certificate chains to the roots given to
	// verify (--tsa-roots), so the time is proven. Roots the matter
	// names never make it true.
	Chained bool `json:"chained"`
	// Roots says which roots the token was checked against: RootsGiven,
	// RootsMatter or RootsNone.
	Roots  string `json:"roots"`
	Tokens int    `json:"tokens"` // good tokens of the checkpoint
}

// WitnessStatus is what verify --witness found on a checkpoint.
type WitnessStatus struct {
	Checkpoint string   `json:"checkpoint"`
	Size       uint64   `json:"size"`
	Witnesses  []string `json:"witnesses"` // names of the given witnesses that validly cosigned it
}

// checkAttestations checks the stored timestamp tokens against their
// checkpoints' notes (and opts.TSARoots, else opts.MatterTSARoots), and
// the witness cosignatures against opts.Witnesses.
func checkAttestations(ctx context.Context, snap *ledger.Snapshot, stored []ledger.StoredCheckpoint, opts Options, rep *Report, v *collector) error {
	ts, err := snap.Timestamps(ctx)
	if err != nil {
		return err
	}
	byID := map[int64]ledger.StoredCheckpoint{}
	for _, c := range stored {
		byID[c.ID] = c
	}
	cos, err := snap.Cosignatures(ctx)
	if err != nil {
		return err
	}
	var orphans orphanAttestations
	for _, c := range cos {
		if _, ok := byID[c.CheckpointID]; !ok {
			orphans.add(c.CheckpointID, false)
		}
	}
	times := map[int64]*CheckpointTime{}
	gaps := map[int64]map[string]string{} // checkpoint → tsa → last error
	good := map[int64]map[string]bool{}   // checkpoint → tsa → a token verified
	// The roots a token must chain to: the verifier's, else the ones the
	// matter names, which can only ever make a time claimed, not proven.
	roots, from := opts.TSARoots, RootsGiven
	if roots == nil {
		roots, from = opts.MatterTSARoots, RootsMatter
	}
	unproven := map[string]int{} // RootsMatter, RootsNone → good tokens checked so
	for _, t := range ts {
		c, ok := byID[t.CheckpointID]
		name := fmt.Sprintf("stored #%d", t.CheckpointID)
		if !ok {
			orphans.add(t.CheckpointID, true)
			continue
		}
		if t.Token == nil {
			if gaps[c.ID] == nil {
				gaps[c.ID] = map[string]string{}
			}
			gaps[c.ID][t.TSA] = t.Error
			continue
		}
		tok, err := tsa.Verify(t.Token, tsa.Imprint(c.Note), roots)
		if err != nil {
			against := ""
			if from == RootsMatter {
				against = " (checked against the roots the matter names in its settings)"
			}
			v.add(Finding{Check: CheckTimestamp, Checkpoint: name, pos: 2*int64(c.Size) - 1,
				Message: fmt.Sprintf("the token from %s (row %d) does not prove the checkpoint's time: %v%s", redact.URL(t.TSA), t.ID, err, against)})
			continue
		}
		if good[c.ID] == nil {
			good[c.ID] = map[string]bool{}
		}
		good[c.ID][t.TSA] = true
		src := RootsNone
		if tok.Chained {
			src = from
		}
		if src != RootsGiven {
			unproven[src]++
		}
		ct := times[c.ID]
		if ct == nil {
			ct = &CheckpointTime{Checkpoint: name, Size: c.Size}
			times[c.ID] = ct
		}
		if ct.Tokens == 0 || tok.Time.Before(ct.ProvenAt) {
			ct.ProvenAt, ct.TSA, ct.Chained, ct.Roots = tok.Time, redact.URL(t.TSA), src == RootsGiven, src
		}
		ct.Tokens++
	}
	// A gap is filled by asking its authority again, which only an
	// authority the matter still names is (checkpoint --remove-tsa).
	named, _, err := snap.State(ctx, leaf.SettingTSA)
	if err != nil {
		return err
	}
	current := map[string]bool{}
	var shown []string // the authorities named, as custody shows them
	for _, u := range strings.Split(named, "\n") {
		current[strings.TrimSpace(u)] = true
		if u = strings.TrimSpace(u); u != "" {
			shown = append(shown, redact.URL(u))
		}
	}
	for _, c := range stored {
		if ct := times[c.ID]; ct != nil {
			rep.CheckpointTimes = append(rep.CheckpointTimes, *ct)
		}
		var tsas []string
		for u := range gaps[c.ID] {
			if !good[c.ID][u] { // a gap filled later (or earlier) is no gap
				tsas = append(tsas, u)
			}
		}
		sort.Strings(tsas)
		for _, u := range tsas {
			fill := "run custody checkpoint --timestamp-missing"
			if !current[u] {
				fill = "the matter names this authority no more (custody log --kind settings says when it was removed), so the gap stays"
			}
			rep.Warnings = append(rep.Warnings, Finding{Check: CheckTimestampMissing, Warning: true, Checkpoint: fmt.Sprintf("stored #%d", c.ID),
				Message: fmt.Sprintf("no timestamp from %s (%s); %s", redact.URL(u), redact.URLsIn(gaps[c.ID][u]), fill)})
		}
	}
	if opts.TSARoots != nil {
		// Whoever passes --tsa-roots expects proven times: a checkpoint
		// with no token and no recorded gap is said, not passed over
		// (deleting every token leaves nothing else to see).
		removals, err := tsaRemovals(ctx, snap)
		if err != nil {
			return err
		}
		if f, ok := untimed(stored, ts, removals, shown); ok {
			rep.Warnings = append(rep.Warnings, f)
		}
	}
	if n := unproven[RootsMatter]; n > 0 {
		rep.Warnings = append(rep.Warnings, Finding{Check: CheckTimestamp, Warning: true,
			Message: fmt.Sprintf("%d timestamp %s only to the roots the matter itself names (its tsa_roots setting, which whoever can change the ledger file can change), not to roots given to verify: the times they state are claimed, not proven; pass --tsa-roots with a bundle of roots you trust",
				n, plural(n, "token chains", "tokens chain"))})
	}
	if n := unproven[RootsNone]; n > 0 {
		rep.Warnings = append(rep.Warnings, Finding{Check: CheckTimestamp, Warning: true,
			Message: fmt.Sprintf("%d timestamp %s checked for imprint and signature only, with no roots: the times they state are claimed, not proven; pass --tsa-roots with a bundle of roots you trust",
				n, plural(n, "token was", "tokens were"))})
	}
	if f, ok := orphans.finding(); ok {
		v.add(f)
	}
	if len(opts.Witnesses) == 0 {
		return nil
	}
	removals, err := witnessRemovals(ctx, snap)
	if err != nil {
		return err
	}
	return checkWitnesses(stored, cos, removals, opts, rep, v)
}

// orphanAttestations gathers the timestamp and cosignature rows that
// name a checkpoint that is not stored: what deleting checkpoint rows
// leaves behind (the tables are INSERT-only, and custody only attests a
// checkpoint it stored).
type orphanAttestations struct {
	ids                      map[int64]bool
	timestamps, cosignatures int
}

func (o *orphanAttestations) add(id int64, timestamp bool) {
	if o.ids == nil {
		o.ids = map[int64]bool{}
	}
	o.ids[id] = true
	if timestamp {
		o.timestamps++
	} else {
		o.cosignatures++
	}
}

// finding is the one finding of the orphaned attestations, if any: named
// after the first checkpoint they name, the other checkpoints counted on
// it (one break, one finding). It sits after truncation, which deleting
// entries with the checkpoints also is, and is the break to report first.
func (o *orphanAttestations) finding() (Finding, bool) {
	if len(o.ids) == 0 {
		return Finding{}, false
	}
	ids := make([]int64, 0, len(o.ids))
	for id := range o.ids {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var what []string
	if n := o.timestamps; n > 0 {
		what = append(what, fmt.Sprintf("%d %s", n, plural(n, "timestamp", "timestamps")))
	}
	if n := o.cosignatures; n > 0 {
		what = append(what, fmt.Sprintf("%d %s", n, plural(n, "witness cosignature", "witness cosignatures")))
	}
	check := CheckTimestamp
	if o.timestamps == 0 {
		check = CheckWitness
	}
	return Finding{Check: check, Checkpoint: fmt.Sprintf("stored #%d", ids[0]), pos: 1<<62 + 1,
		ConsequentCheckpoints: len(ids) - 1,
		Message: fmt.Sprintf("%s %s %s, which %s not stored (checkpoint rows deleted)",
			strings.Join(what, " and "), plural(o.timestamps+o.cosignatures, "names", "name"), checkpointList(ids), plural(len(ids), "is", "are"))}, true
}

// checkpointList names checkpoint ids (ascending), runs as ranges:
// "checkpoint #3", "checkpoints #3, #4", "checkpoints #2, #5 to #7".
func checkpointList(ids []int64) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j-i < 2 {
			j = i
			parts = append(parts, fmt.Sprintf("#%d", ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("#%d to #%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return plural(len(ids), "checkpoint ", "checkpoints ") + strings.Join(parts, ", ")
}

// checkWitnesses requires WitnessThreshold of the given witnesses to have
// cosigned the latest stored checkpoint, and every cosignature by a
// given witness, on any checkpoint, to verify.
func checkWitnesses(stored []ledger.StoredCheckpoint, cos []ledger.Cosignature, removals map[string][]witnessRemoval, opts Options, rep *Report, v *collector) error {
	var verifiers []note.Verifier
	for i, k := range opts.Witnesses {
		wv, err := witness.NewVerifier(k)
		if err != nil {
			// Numbered, not quoted: the key may be anything, a secret included.
			return fmt.Errorf("witness key %d: not a witness verifier key: %v", i+1, err)
		}
		verifiers = append(verifiers, wv)
	}
	threshold := opts.WitnessThreshold
	if threshold <= 0 {
		threshold = len(verifiers)
	}
	lines := map[int64][]string{}
	for _, c := range cos {
		lines[c.CheckpointID] = append(lines[c.CheckpointID], c.Signature)
	}
	if len(stored) == 0 {
		v.add(Finding{Check: CheckWitness, pos: 1 << 61, Message: "no stored checkpoint for the witnesses to have cosigned"})
		return nil
	}
	var vouched *ledger.StoredCheckpoint // the latest with enough cosignatures
	for i, c := range stored {
		name := fmt.Sprintf("stored #%d", c.ID)
		names, err := Cosigners(c.Note, lines[c.ID], verifiers)
		if err != nil {
			v.add(Finding{Check: CheckWitness, Checkpoint: name, pos: 2*int64(c.Size) - 1,
				Message: fmt.Sprintf("a cosignature by a given witness does not verify (forged, or for another checkpoint): %v", err)})
			continue
		}
		rep.Witnessed = append(rep.Witnessed, WitnessStatus{Checkpoint: name, Size: c.Size, Witnesses: names})
		if len(names) >= threshold {
			vouched = &stored[i]
		}
		if i == len(stored)-1 && len(names) < threshold {
			by := ""
			if len(names) > 0 {
				by = " (by " + strings.Join(names, ", ") + ")"
			}
			var removed []string
			for _, wv := range verifiers {
				if !slices.Contains(names, wv.Name()) {
					for _, r := range removals[wv.Name()] {
						removed = append(removed, fmt.Sprintf("%s was taken off the matter by the settings entry at seq %d (%s, by %s: its URL %s)",
							wv.Name(), r.seq, r.at.UTC().Format(time.RFC3339), r.operator, r.url))
					}
				}
			}
			v.add(Finding{Check: CheckWitness, Checkpoint: name, pos: 2*int64(c.Size) - 1,
				Message: fmt.Sprintf("the latest checkpoint has %d of the %d witness cosignatures required%s: %s",
					len(names), threshold, by, unwitnessed(vouched, c, removed))})
		}
	}
	return nil
}

// unwitnessed says what a latest checkpoint, latest, without enough
// cosignatures leaves unvouched, after the latest that has them
// (vouched; nil if none). The entries a witness saw stay vouched (every
// checkpoint is checked against the ledger); those after it were either
// signed without asking the witnesses, or shown to none of them, which
// is what a history shown to this verifier alone — a fork — looks like.
// Either way no witness vouches for them, so verify fails.
//
// removed says which of the witnesses required that did not cosign were
// taken off the matter by a settings entry (checkpoint --remove-witness):
// then that is the likely cause, and the message says so, and what to
// require instead — the failure stays, since the auditor required that
// witness and a custodian showing it a fork would remove it just so.
func unwitnessed(vouched *ledger.StoredCheckpoint, latest ledger.StoredCheckpoint, removed []string) string {
	causes := "either it was signed without the witnesses (none in the matter's settings, or one unreachable: 'custody checkpoint --witness URL' sends them the latest), or it is a history no witness was shown, which is what a forked or rewritten ledger looks like"
	if len(removed) > 0 {
		causes = strings.Join(removed, "; ") + ", so no checkpoint signed after that was sent to it ('custody log --kind settings'): " +
			"if you accept that removal, give verify the keys of the witnesses that remain (or --witness-threshold below the count of keys); if not, the entries after it are a history that witness was not shown"
	}
	if vouched == nil {
		return "no stored checkpoint has them, so no witness vouches for any of this history; " + causes
	}
	n := latest.Size - vouched.Size
	return fmt.Sprintf("the latest that has them is stored #%d (size %d), so the %d %s after it %s vouched for by no witness; %s",
		vouched.ID, vouched.Size, n, plural(int(n), "entry", "entries"), plural(int(n), "is", "are"), causes)
}

// Cosigners returns the names of the witnesses (verifiers) whose
// cosignatures on the checkpoint note verify, the signature lines in
// extra added to the note's own. A line by a given witness that does not
// verify is an error.
func Cosigners(signedNote []byte, extra []string, verifiers []note.Verifier) ([]string, error) {
	msg := append([]byte(nil), signedNote...)
	for _, l := range extra {
		msg = append(msg, l...)
		if !strings.HasSuffix(l, "\n") {
			msg = append(msg, '\n')
		}
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, nil
		}
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, s := range n.Sigs {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// stateWitnessNames is matter.StateWitnessNames: "URL NAME" lines, the
// key names the witness at each URL cosigned with.
const stateWitnessNames = "witness_names"

// witnessRemoval is a settings entry that took a witness's URL off the
// matter (custody checkpoint --remove-witness).
type witnessRemoval struct {
	url      string // as custody shows it (redact.URL)
	seq      uint64
	at       time.Time
	operator string
}

// witnessRemovals returns, by witness key name, the settings entries that
// took off the URL of a witness that cosigned under that name (the
// matter's witness_names setting says which names; it is unsigned, so
// this explains a failure and never excuses one).
func witnessRemovals(ctx context.Context, snap *ledger.Snapshot) (map[string][]witnessRemoval, error) {
	v, _, err := snap.State(ctx, stateWitnessNames)
	if err != nil {
		return nil, err
	}
	namesOf := map[string][]string{} // URL as shown → key names
	for _, line := range strings.Split(v, "\n") {
		if u, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			namesOf[redact.URL(u)] = append(namesOf[redact.URL(u)], name)
		}
	}
	if len(namesOf) == 0 {
		return nil, nil
	}
	rs, err := removals(ctx, snap, leaf.SettingWitness)
	if err != nil {
		return nil, err
	}
	out := map[string][]witnessRemoval{}
	for _, r := range rs {
		for _, u := range r.d.URLs {
			shown := redact.URL(u)
			for _, name := range namesOf[shown] {
				out[name] = append(out[name], witnessRemoval{url: shown, seq: r.e.Seq, at: r.e.At, operator: r.d.Operator})
			}
		}
	}
	return out, nil
}

// removal is a settings entry that took URLs of one setting off the
// matter (checkpoint --remove-tsa, --remove-witness).
type removal struct {
	e leaf.Entry
	d *leaf.SettingsDetail
}

// removals returns the settings entries that removed URLs of setting, in
// seq order; one whose detail does not decode is left to the entry
// checks, which say what is wrong with it.
func removals(ctx context.Context, snap *ledger.Snapshot, setting string) ([]removal, error) {
	var out []removal
	for e, err := range snap.EntriesOfKind(ctx, leaf.KindSettings) {
		if err != nil {
			return nil, err
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			continue
		}
		if sd := d.(*leaf.SettingsDetail); sd.Setting == setting && sd.Action == leaf.SettingsRemove {
			out = append(out, removal{e, sd})
		}
	}
	return out, nil
}
