package erase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// output is a recorded production or report, as the erasure needs it.
type output struct {
	seq  uint64
	kind string
	// A production: its manifest kept as evidence (zero: none) and its
	// selection. A report: its run id and how many entries it describes.
	manifest   hashchain.Hash
	selection  leaf.ProductionSelection
	runID      string
	ledgerSize uint64
	folder     string // a report's folder, when its entry records it
}

func readOutput(e leaf.Entry) (output, error) {
	o := output{seq: e.Seq, kind: e.Kind, runID: e.RunID}
	dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return o, err
	}
	switch d := dd.(type) {
	case *leaf.ProductionDetail:
		if d.ManifestEvidenceSHA256 != "" {
			if o.manifest, err = hashchain.ParseHash(d.ManifestEvidenceSHA256); err != nil {
				return o, fmt.Errorf("manifest_evidence_sha256: %w", err)
			}
		}
		o.selection = d.Selection
	case *leaf.ReportDetail:
		o.ledgerSize, o.folder = d.LedgerSize, d.Out
	}
	return o, nil
}

// outputsOf names the recorded productions and reports that hold, or
// may hold, content of what is erased, before seq of the first entry
// erased: a production whose manifest lists a produced message erased
// here (its manifest, Manifest, to be deleted: it holds the plain SHA-256
// of each text), or, its manifest gone, whose selection covers an erased
// conversation; a report that describes an entry erased here that no
// erasure before the report had erased (a report entry does not record
// which transcripts it holds). A manifest that cannot be read (an I/O
// error, not an absent object) stops the erasure before anything is
// deleted.
func outputsOf(ctx context.Context, l *ledger.Ledger, store evidence.Store, st *erasure.State, outs []output,
	erasedEntries []leaf.Entry, whole, msgs map[string]bool, facts *selectionFacts) ([]leaf.ErasedOutput, error) {
	if len(outs) == 0 || len(erasedEntries) == 0 {
		return nil, nil
	}
	first := erasedEntries[0].Seq
	convFirst := map[string]uint64{} // erased conversation (whole or in part) → its first entry erased
	for _, e := range erasedEntries {
		if _, ok := convFirst[e.ConversationID]; !ok {
			convFirst[e.ConversationID] = e.Seq
		}
	}
	erasedMsg := func(conv, msg string) bool { return whole[conv] || msgs[msg] }
	var named []leaf.ErasedOutput
	for _, o := range outs {
		if o.seq < first {
			continue // recorded before anything erased here was captured
		}
		var eo leaf.ErasedOutput
		switch o.kind {
		case leaf.KindProduction:
			why, deleteManifest, err := productionHolds(ctx, store, st, o, convFirst, erasedMsg, erasedEntries, facts)
			if err != nil {
				return nil, err
			}
			if why == "" {
				continue
			}
			eo = leaf.ErasedOutput{Seq: o.seq, Kind: o.kind, Why: why}
			if deleteManifest {
				eo.Manifest = o.manifest.String()
			}
			if claim, ok, err := l.State(ctx, production.ClaimKey(o.seq)); err != nil {
				return nil, fmt.Errorf("erase: %w", err)
			} else if ok {
				eo.Name, _ = production.ClaimedOut(claim)
			}
		case leaf.KindReport:
			// What erasures before the report had deleted, it showed
			// without text (erased, or body_erased as collateral or with
			// its body gone), as produce's selection leaves it out. An
			// erasure entry that does not decode is not applied: the
			// message counts, on the safe side.
			at := facts.stateBefore(o.seq)
			n, convs := 0, map[string]bool{}
			for _, e := range erasedEntries {
				if e.Seq >= o.ledgerSize || e.Seq >= o.seq {
					break
				}
				c := e.ConversationID
				if at.Conversation(c) {
					continue // the report showed it erased
				}
				if e.Kind == leaf.KindMessage {
					if at.Message(c, e.MessageID) {
						continue
					}
					if _, ok := at.Collateral(c, e.MessageID); ok {
						continue
					}
					if _, ok := at.Object(e.EvidenceSHA256); ok {
						continue
					}
					n++
				}
				// A conversation entry: the report lists its participants.
				convs[c] = true
			}
			if len(convs) == 0 {
				continue
			}
			what := "the transcripts of " + messages(n) + " erased here"
			if n == 0 {
				// Every message's body was gone before it: only the
				// conversation's participants remain to recall.
				what = "the participants of what is erased here, but no transcript of it (its messages' bodies were erased before the report)"
			}
			eo = leaf.ErasedOutput{Seq: o.seq, Kind: o.kind, Name: o.runID, Why: fmt.Sprintf(
				"may hold %s (%s): it describes the ledger's first %d entries, theirs among them (a report entry does not record which transcripts --conversation or --interval kept)",
				what, convList(convs), o.ledgerSize)}
		default:
			continue
		}
		named = append(named, eo)
	}
	return named, nil
}

// productionHolds says whether production o holds content of what is
// erased, and why ("" when it does not), and whether its manifest, kept
// as evidence, is to be deleted: it lists a produced message erased here.
func productionHolds(ctx context.Context, store evidence.Store, st *erasure.State, o output,
	convFirst map[string]uint64, erasedMsg func(conv, msg string) bool, erasedEntries []leaf.Entry, facts *selectionFacts) (string, bool, error) {
	if !o.manifest.IsZero() {
		b, err := evidence.GetChecked(ctx, store, o.manifest)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Gone (an earlier erasure deleted it): the selection says.
		case err != nil:
			return "", false, fmt.Errorf("erase: read %s, the manifest of production entry %d, to tell whether it holds what is erased: %w", o.manifest, o.seq, err)
		default:
			var m struct {
				Messages []struct {
					ConversationID string `json:"conversation_id"`
					MessageID      string `json:"message_id"`
				} `json:"messages"`
			}
			if json.Unmarshal(b, &m) != nil {
				// Not a manifest as custody writes them: named, and deleted,
				// when it names any of them.
				for c := range convFirst {
					if bytes.Contains(b, []byte(`"`+c+`"`)) {
						return "manifest not readable as one, names conversation " + c + ": may hold its messages; " + manifestDeleted, true, nil
					}
				}
				return "", false, nil
			}
			n, convs := 0, map[string]bool{}
			for _, pm := range m.Messages {
				if erasedMsg(pm.ConversationID, pm.MessageID) {
					n++
					convs[pm.ConversationID] = true
				}
			}
			if n == 0 {
				return "", false, nil
			}
			return fmt.Sprintf("holds %s erased here (%s), their text, senders and recipients, in its files; %s", messages(n), convList(convs), manifestDeleted), true, nil
		}
	}
	n, convs, notes := facts.covered(ctx, o, erasedEntries)
	if n == 0 {
		return "", false, nil
	}
	why := "its manifest is not in the evidence"
	if seq, ok := st.Object(o.manifest); ok {
		why = fmt.Sprintf("its manifest was deleted by erasure entry %d", seq)
	}
	why = fmt.Sprintf("may hold %s erased here (%s): %s, and its selection (%s) covers them", messages(n), convList(convs), why, describeSelection(o.selection))
	for _, note := range notes {
		why += "; " + note
	}
	return why, false, nil
}

// selectionFacts is what deciding whether a recorded selection covers a
// message needs beyond the erased entries: each conversation's captures'
// deletion protection, the erasure and hold entries (the matter holds
// and erasures in force when a production was made), and how to read
// back a recorded diff's conversations.
type selectionFacts struct {
	protected map[string][]protectedAt // conversation → its conversation entries, in seq order
	controls  []leaf.Entry             // erasure and hold entries, in seq order
	diffConvs func(ctx context.Context, diffRunID string) ([]string, error)
	diffs     map[string]diffRead
}

type protectedAt struct {
	seq  uint64
	held bool
}

type diffRead struct {
	convs map[string]bool
	err   error
}

// covered counts the messages erased here (the latest capture of each
// among erasedEntries before production o) that o's recorded selection
// covers, as produce applied it (produce.Selection): its conversations,
// the conversations its diff found something in, its interval (the
// message's time), legal_hold_only (deletion protection at the
// conversation's latest capture before o, or a matter hold then in
// force), leaving out what an erasure before o had erased, which o left
// out too. A filter it cannot evaluate is not applied, and notes say so.
// stateBefore is the erasures recorded before seq, as an output
// recorded at seq saw them.
func (f *selectionFacts) stateBefore(seq uint64) *erasure.State {
	at := erasure.New()
	for i := range f.controls {
		if f.controls[i].Seq < seq {
			_ = at.Add(&f.controls[i]) // decoded once already (erasure.Load)
		}
	}
	return at
}

func (f *selectionFacts) covered(ctx context.Context, o output, erasedEntries []leaf.Entry) (int, map[string]bool, []string) {
	sel := o.selection
	var notes []string
	at := f.stateBefore(o.seq)
	var start, end time.Time
	interval := sel.Interval != ""
	if interval {
		var err error
		if _, start, end, err = export.ParseInterval(sel.Interval); err != nil {
			interval = false
			notes = append(notes, fmt.Sprintf("its interval %q cannot be read (%v), so it is not applied here", sel.Interval, err))
		}
	}
	var fromDiff map[string]bool
	if sel.DiffRunID != "" {
		d, ok := f.diffs[sel.DiffRunID]
		if !ok {
			d.err = errors.New("no way to read it was given")
			if f.diffConvs != nil {
				var ids []string
				if ids, d.err = f.diffConvs(ctx, sel.DiffRunID); d.err == nil {
					d.convs = map[string]bool{}
					for _, id := range ids {
						d.convs[id] = true
					}
				}
			}
			f.diffs[sel.DiffRunID] = d
		}
		if d.err != nil {
			notes = append(notes, fmt.Sprintf("the conversations its diff %s found something in could not be read (%v), so that filter is not applied here", sel.DiffRunID, d.err))
		} else {
			fromDiff = d.convs
		}
	}
	latest := map[string]leaf.Entry{}
	for _, e := range erasedEntries {
		if e.Kind == leaf.KindMessage && e.Seq < o.seq {
			latest[e.MessageID] = e // in seq order: the last is the latest
		}
	}
	n, convs := 0, map[string]bool{}
	for _, e := range latest {
		c := e.ConversationID
		switch {
		case len(sel.Conversations) > 0 && !slices.Contains(sel.Conversations, c):
			continue
		case fromDiff != nil && !fromDiff[c]:
			continue
		}
		if interval && e.Compliance != nil {
			if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil && (t.Before(start) || !t.Before(end)) {
				continue
			}
		}
		if sel.LegalHoldOnly && !at.HoldsOn(c, f.protectedBefore(c, o.seq)).Held() {
			continue
		}
		if at.Message(c, e.MessageID) {
			continue // erased before o: listed as erased there, not produced
		}
		if _, ok := at.Collateral(c, e.MessageID); ok {
			continue
		}
		if _, ok := at.Object(e.EvidenceSHA256); ok {
			continue
		}
		n++
		convs[c] = true
	}
	return n, convs, notes
}

// protectedBefore is the deletion protection of the conversation's
// latest capture before seq.
func (f *selectionFacts) protectedBefore(conv string, seq uint64) bool {
	held := false
	for _, p := range f.protected[conv] {
		if p.seq >= seq {
			break
		}
		held = p.held
	}
	return held
}

// describeSelection says what a production's recorded selection asked
// for, as produce's flags say it.
func describeSelection(s leaf.ProductionSelection) string {
	sel := production.Selection(s)
	sel.Conversations = nil // counted, not listed: there may be thousands
	parts := sel.Flags()
	if n := len(s.Conversations); n > 0 {
		parts = append([]string{fmt.Sprintf("%d conversations named", n)}, parts...)
	}
	if len(parts) == 0 {
		return "every message"
	}
	return strings.Join(parts, ", ")
}

// manifestDeleted says what becomes of a production's manifest kept as
// evidence when it lists messages erased.
const manifestDeleted = "its manifest kept as evidence, which lists them with the plain SHA-256 of each text (a short text can be guessed from it), is deleted; the production's own manifest.json still verifies against the production entry"

func convList(convs map[string]bool) string {
	cs := slices.Sorted(maps.Keys(convs))
	if len(cs) > 3 {
		return "conversations " + strings.Join(cs[:3], ", ") + fmt.Sprintf(" and %d more", len(cs)-3)
	}
	if len(cs) == 1 {
		return "conversation " + cs[0]
	}
	return "conversations " + strings.Join(cs, ", ")
}

func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}
