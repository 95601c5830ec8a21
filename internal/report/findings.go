package report

import (
	"context"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

// Severity of a finding kind as the report ranks them: what it means for
// the record, not how often it occurs.
const (
	SeverityHigh   = "high"   // the export lost or changed what was said, or when
	SeverityMedium = "medium" // the export and the ledger disagree on what they hold
	SeverityLow    = "low"    // the export's form lost detail; the ledger has it
)

// severity ranks a finding kind. Every kind of the finding table has a
// severity (TestSeverityComplete).
func severity(k finding.Kind) string {
	switch k {
	case finding.ContentDiffers, finding.ValueAltered, finding.TimestampShifted, finding.MissingFromExport:
		return SeverityHigh
	case finding.NotCaptured, finding.Duplicated, finding.ConversationAbsent, finding.FileUnreadable:
		return SeverityMedium
	case finding.FieldStripped, finding.TimestampPrecisionLost, finding.FormatLacks:
		return SeverityLow
	}
	return ""
}

// holdCategory sorts the kinds that matter for a held conversation into
// the four things section 2 counts: missing, altered, time-shifted, not
// captured ("" for the rest).
func holdCategory(k finding.Kind) string {
	switch k {
	case finding.MissingFromExport, finding.ConversationAbsent:
		return "missing"
	case finding.ContentDiffers, finding.ValueAltered:
		return "altered"
	case finding.TimestampShifted:
		return "time_shifted"
	case finding.NotCaptured:
		return "not_captured"
	}
	return ""
}

// bitHoldStripped marks, in a message's status bits, a legal hold of true
// the export lost; the bits below it are the finding table's rows.
const bitHoldStripped = 31

// diffFacts are what streaming a diff's findings gives.
type diffFacts struct {
	run        ledger.Run
	res        *reconcile.DiffResult
	counts     map[finding.Kind]int
	held       map[finding.Kind]int
	stripped   map[string]int            // field → field_stripped findings
	truth      map[string]map[string]int // field → expected value → count
	precision  int                       // timestamp_precision_lost
	lacks      map[string]int            // field → messages its format_lacks findings stand for
	lackValues map[string]map[string]int // field → value class (diff's lackValue) → messages
	heldConv   map[string]*HeldConversation
	holdCats   map[string]map[string]bool // category → message keys (distinct)
	// absentHeld are the held conversations the export lacks entirely
	// (conversation_absent), each with its captured messages: one
	// finding stands for all of them, so section 2 counts them apart.
	absentHeld    map[string]int
	holdsStripped int
	erased        int               // erased rows (finding.Info.Ledger): not counted as the export's
	status        map[uint64]uint32 // message key hash → bits (finding rows, bitHoldStripped)
	seed          maphash.Seed
	gaps          []Gap
}

func (d *diffFacts) key(conv, msg string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(conv)
	h.WriteByte(0)
	h.WriteString(msg)
	return h.Sum64()
}

// statusOf returns the finding kinds of one message, in report order.
func (d *diffFacts) statusOf(conv, msg string) []string {
	if d == nil {
		return nil
	}
	bits := d.status[d.key(conv, msg)]
	if bits == 0 {
		return nil
	}
	var out []string
	if bits&(1<<bitHoldStripped) != 0 {
		out = append(out, "legal_hold_stripped")
	}
	for i, in := range finding.Kinds() {
		if bits&(1<<i) != 0 {
			out = append(out, string(in.Kind))
		}
	}
	return out
}

// readDiff streams the findings of the recorded diff runID and aggregates
// them; memory grows with the findings' messages (a word each), the held
// conversations and the gaps, never with the findings' text.
func readDiff(ctx context.Context, l *ledger.Ledger, store evidence.Store, runID string, lf *ledgerFacts) (*diffFacts, error) {
	run, res, err := reconcile.FindDiff(ctx, l, runID)
	if err != nil {
		return nil, err
	}
	d := &diffFacts{run: run, res: res, counts: map[finding.Kind]int{}, held: map[finding.Kind]int{},
		stripped: map[string]int{}, truth: map[string]map[string]int{}, heldConv: map[string]*HeldConversation{},
		lacks: map[string]int{}, lackValues: map[string]map[string]int{},
		holdCats: map[string]map[string]bool{}, absentHeld: map[string]int{}, status: map[uint64]uint32{}, seed: maphash.MakeSeed()}
	rows := map[finding.Kind]int{}
	for i, in := range finding.Kinds() {
		rows[in.Kind] = i
	}
	heldMsgs := map[string]map[string][]string{} // conv → msg → kinds
	err = reconcile.StreamFindings(ctx, store, run.ID, res, func(f diff.Finding) error {
		if in, _ := finding.Lookup(f.Kind); in.Ledger {
			// erased: a message whose content and sender the ledger no
			// longer holds to compare, nothing the export did; the
			// transcripts show it erased, naming the erasure entry.
			// Counted apart, so the diff's total is accounted for.
			d.erased++
			return nil
		}
		d.counts[f.Kind]++
		switch f.Kind {
		case finding.FieldStripped:
			d.stripped[f.Field]++
			t := d.truth[f.Field]
			if t == nil {
				t = map[string]int{}
				d.truth[f.Field] = t
			}
			t[truthOf(f.Field, f.Expected)]++ // a few classes, not every message's value
		case finding.TimestampPrecisionLost:
			d.precision++
		case finding.FormatLacks:
			// One finding for the export (per shape): it stands for Count
			// messages, and Expected says what custody holds for them.
			d.lacks[f.Field] += f.Count
			t := d.lackValues[f.Field]
			if t == nil {
				t = map[string]int{}
				d.lackValues[f.Field] = t
			}
			for _, pair := range strings.Split(f.Expected, ";") {
				if v, n, ok := strings.Cut(pair, "="); ok {
					if k, err := strconv.Atoi(n); err == nil && k > 0 {
						t[v] += k
					}
				}
			}
		}
		holdLost := f.Field == finding.FieldLegalHold && f.Expected == "true" &&
			(f.Kind == finding.FieldStripped || f.Kind == finding.ValueAltered)
		if f.MessageID != "" {
			k := d.key(f.ConversationID, f.MessageID)
			if r, ok := rows[f.Kind]; ok {
				d.status[k] |= 1 << r
			}
			if holdLost {
				d.status[k] |= 1 << bitHoldStripped
			}
		}
		c := lf.convs[f.ConversationID]
		if c == nil || !c.held {
			if finding.IsGap(f.Kind) {
				d.addGap(f, lf)
			}
			return nil
		}
		d.held[f.Kind]++
		if holdLost {
			d.holdsStripped++
		}
		if finding.IsGap(f.Kind) {
			d.addGap(f, lf)
		}
		hc := d.heldConv[c.id]
		if hc == nil {
			hc = &HeldConversation{ID: c.id, Messages: c.messages, Counts: map[string]int{}}
			d.heldConv[c.id] = hc
			heldMsgs[c.id] = map[string][]string{}
		}
		if holdLost {
			hc.HoldsStripped++
		}
		cat := holdCategory(f.Kind)
		if cat == "" {
			return nil // a field the format cannot carry: stated once, in section 3
		}
		hc.Counts[string(f.Kind)]++
		if f.MessageID != "" {
			heldMsgs[c.id][f.MessageID] = append(heldMsgs[c.id][f.MessageID], string(f.Kind))
		}
		if f.Kind == finding.ConversationAbsent {
			// Every captured message of it is missing, not one: counted by
			// heldMissing, not as a message key.
			d.absentHeld[c.id] = c.messages
			return nil
		}
		m := d.holdCats[cat]
		if m == nil {
			m = map[string]bool{}
			d.holdCats[cat] = m
		}
		m[gapKey(f.ConversationID, f.MessageID)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, msgs := range heldMsgs {
		hc := d.heldConv[id]
		for m, kinds := range msgs {
			slices.Sort(kinds)
			hc.Affected = append(hc.Affected, HeldMessage{MessageID: m, Kinds: slices.Compact(kinds)})
		}
		slices.SortFunc(hc.Affected, func(a, b HeldMessage) int { return strings.Compare(a.MessageID, b.MessageID) })
	}
	return d, nil
}

// heldMissing counts the held messages the export lacks: those of its
// missing_from_export findings, and every captured message of each held
// conversation it lacks entirely (conversation_absent), once.
func (d *diffFacts) heldMissing() (messages, absentConvs, absentMessages int) {
	for k := range d.holdCats["missing"] {
		conv, _, _ := strings.Cut(k, "/")
		if _, absent := d.absentHeld[conv]; !absent {
			messages++
		}
	}
	for _, n := range d.absentHeld {
		absentMessages += n
	}
	return messages + absentMessages, len(d.absentHeld), absentMessages
}

// addGap records a gap finding and its refetch outcome, if any.
func (d *diffFacts) addGap(f diff.Finding, lf *ledgerFacts) {
	g := Gap{Kind: string(f.Kind), ConversationID: f.ConversationID, MessageID: f.MessageID, Cause: f.Detail, Outcome: "not refetched"}
	if f.Cause != "" {
		// The diff's likely cause (docs/findings.md, Causes), then its detail.
		g.Cause = string(f.Cause)
		if f.Detail != "" {
			g.Cause += ": " + f.Detail
		}
	}
	if g.Cause == "" {
		in, _ := finding.Lookup(f.Kind)
		g.Cause = in.Doc
	}
	if r, ok := lf.refetch[gapKey(f.ConversationID, f.MessageID)]; ok {
		g.Outcome, g.Reason = r.Outcome, r.Reason
	}
	d.gaps = append(d.gaps, g)
}
