package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// convState is what the ledger pass keeps of one conversation: a few words
// and the seqs of its message entries, so the transcript pass can read
// them back one conversation at a time.
type convState struct {
	id       string
	held     bool
	seq      uint64         // of its latest conversation entry
	leafHash hashchain.Hash // of that entry
	evidence hashchain.Hash // the conversation body
	gone     []string
	msgSeqs  []uint64 // every message entry, superseded captures too
	messages int      // latest captures
	shown    int      // latest captures the transcripts show
	first    time.Time
	// inInterval: a run over an interval captured it (else it was
	// captured by id only: a refetch, --conversation).
	inInterval bool

	// shownErased and shownBodyErased count those of shown erased, and
	// not erased but with their response body deleted: the certificate's
	// "of these" when a filter lists fewer than the matter's.
	shownErased, shownBodyErased int
	// erased and bodyErased count the same of all its latest captures
	// (section 2 says them of a held conversation).
	erased, bodyErased int
}

// ledgerFacts are what one pass over the ledger gives.
type ledgerFacts struct {
	size       uint64
	root       hashchain.Hash   // the Merkle root of every entry
	leafHashes []hashchain.Hash // every leaf hash, when asked for (proofs)
	convs      map[string]*convState
	order      []*convState // by first message time, then id
	messages   int
	attach     int
	held       int
	runStarts  map[string]*leaf.RunDetail
	// lastStart and lastEnd are the seqs of each run's last start (or
	// resume) entry and last end entry: a capture after them supersedes
	// what the run left uncaptured.
	lastStart, lastEnd map[string]uint64
	// runEntries is what the chained entries say of each run (start,
	// resume, end, listing entries) and of the matter's name: what the
	// report states, beside the run state (runs, run_items) and the
	// state's name, which are not chained and which verify.RunEntries
	// compares with them (custody verify warns of the same points);
	// runLedger is its runs.
	runEntries   *verify.RunEntries
	runLedger    map[string]*verify.RunEntry
	nameDisagree []string // matterName's
	// apiHosts and clientIDs are where the runs read from, in order of
	// first appearance (runs before custody recorded them add nothing).
	apiHosts, clientIDs []string
	intervals           []string
	// byID counts the conversations no run over an interval captured:
	// captured by id alone (a refetch, --conversation), perhaps outside
	// every interval (counted when any interval is recorded).
	byID       int
	refetch    map[string]leaf.RefetchDetail // by conversation id + "/" + message id: the latest outcome
	exceptions []Exception
	diffSeq    map[string]uint64 // diff run id → seq of its entry
	reports    []RunInfo         // earlier reports, from their entries
	erasure    *erasure.State
	// erasedMsgs, bodiesErased count latest captures erased, and not
	// erased but with their response body deleted.
	erasedMsgs, bodiesErased int
}

// keeps reports whether the evidence store still keeps the attachment
// object a message's detail names: not deleted by an erasure, nor found
// altered or missing by verification (section 1 counts what is kept,
// not what was once downloaded).
func (f *ledgerFacts) keeps(evidence string, bad map[hashchain.Hash]badObject) bool {
	h, err := hashchain.ParseHash(evidence)
	if err != nil {
		return false
	}
	if _, erased := f.erasure.Object(h); erased {
		return false
	}
	_, isBad := bad[h]
	return !isBad
}

// holdsMessage reports whether the message a capture entry records is
// still held as evidence, so that its transcript shows it and its
// attachments: not erased, its response body not deleted by an erasure
// (collateral, or an older erasure's object), nor found altered or
// missing by verification. The attachments held as evidence — section
// 1's count and the certificate's, one rule — are those a held message's
// capture downloaded whose objects the store keeps (keeps).
func (f *ledgerFacts) holdsMessage(e *leaf.Entry, bad map[hashchain.Hash]badObject) bool {
	if _, ok := f.erasure.MessageRecord(e.ConversationID, e.MessageID); ok {
		return false
	}
	if _, ok := f.erasure.Collateral(e.ConversationID, e.MessageID); ok {
		return false
	}
	if _, gone := f.erasure.Object(e.EvidenceSHA256); gone {
		return false
	}
	_, isBad := bad[e.EvidenceSHA256]
	return !isBad
}

// erasureOf turns an erasure record into what the report shows.
func erasureOf(r erasure.Record) *Erasure {
	return &Erasure{Seq: r.Seq, When: formatTime(r.At), Reason: r.Reason, Operator: r.Operator, OverrideHold: r.OverrideHold}
}

// erasedReason says in words what an erasure did, for section 7.
func erasedReason(what string, r erasure.Record) string {
	s := fmt.Sprintf("%s erased by erasure entry %d at %s by %s: %s", what, r.Seq, formatTime(r.At), cmpOr(r.Operator, "(operator not recorded)"), r.Reason)
	if r.OverrideHold != "" {
		s += fmt.Sprintf(" (despite a legal hold: %s)", r.OverrideHold)
	}
	return s + "; its content is gone, its ledger entries and proofs remain"
}

// bodyErasedReason says what a collateral deletion means.
func bodyErasedReason(r erasure.Record) string {
	return fmt.Sprintf("not erased, but its response body was deleted by erasure entry %d at %s (the body also held an erased message): its ledger entry and opening remain, its text can no longer be shown", r.Seq, formatTime(r.At))
}

func gapKey(conv, msg string) string { return conv + "/" + msg }

// readLedger makes the one pass over the ledger's entries.
// show, when not nil, says which messages the transcripts show.
// keepHashes keeps every leaf hash, for proofs. bad are the evidence
// objects verification found altered or missing: section 7 lists what
// depends on each (badRefs).
func readLedger(ctx context.Context, l *ledger.Ledger, show func(conv string, at time.Time) bool, keepHashes bool, bad map[hashchain.Hash]badObject) (*ledgerFacts, error) {
	st, err := erasure.Load(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	f := &ledgerFacts{convs: map[string]*convState{}, runStarts: map[string]*leaf.RunDetail{},
		lastStart: map[string]uint64{}, lastEnd: map[string]uint64{}, runEntries: verify.NewRunEntries(),
		refetch: map[string]leaf.RefetchDetail{}, diffSeq: map[string]uint64{}, erasure: st}
	f.runLedger = f.runEntries.Runs
	br := newBadRefs(bad)
	erasedMsg := map[string]bool{} // by gapKey, latest captures
	conv := func(id string) *convState {
		c := f.convs[id]
		if c == nil {
			c = &convState{id: id}
			f.convs[id] = c
		}
		return c
	}
	seenInterval := map[string]bool{}
	type ended struct {
		acct json.RawMessage
		seq  uint64
	}
	runEnd := map[string]ended{} // run id → its last end entry
	attachOf := map[string]int{} // message → attachments its latest capture keeps, when any
	rb := hashchain.NewRootBuilder()
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			return nil, err
		}
		if e.Seq != f.size {
			return nil, fmt.Errorf("report: ledger entry %d out of order (want %d)", e.Seq, f.size)
		}
		f.size++
		rb.Append(e.LeafHash)
		f.runEntries.Add(&e)
		br.entry(&e, show)
		if keepHashes {
			f.leafHashes = append(f.leafHashes, e.LeafHash)
		}
		switch e.Kind {
		case leaf.KindConversation:
			c := conv(e.ConversationID)
			c.seq, c.leafHash, c.evidence = e.Seq, e.LeafHash, e.EvidenceSHA256
			if lr := f.runLedger[e.RunID]; lr != nil {
				c.inInterval = c.inInterval || lr.Interval
			}
			d, err := leaf.DecodeDetail(e.Kind, e.Detail)
			if err != nil {
				continue // verify reports it; the report shows what it can
			}
			cd := d.(*leaf.ConversationDetail)
			c.held = cd.LegalHold
			c.gone = cd.MessagesGone
		case leaf.KindMessage:
			c := conv(e.ConversationID)
			c.msgSeqs = append(c.msgSeqs, e.Seq)
			if e.Supersedes == nil {
				c.messages++
				f.messages++
				k := gapKey(e.ConversationID, e.MessageID)
				if r, ok := st.MessageRecord(e.ConversationID, e.MessageID); ok {
					if !erasedMsg[k] {
						erasedMsg[k] = true
						f.erasedMsgs++
						c.erased++
						if !st.Conversation(e.ConversationID) {
							f.exceptions = append(f.exceptions, Exception{Kind: "erased", ConversationID: e.ConversationID, MessageID: e.MessageID,
								Reason: erasedReason("message", r)})
						}
					}
				} else if r, ok := st.Collateral(e.ConversationID, e.MessageID); ok && !erasedMsg[k] {
					erasedMsg[k] = true
					f.bodiesErased++
					c.bodyErased++
					f.exceptions = append(f.exceptions, Exception{Kind: "body_erased", ConversationID: e.ConversationID, MessageID: e.MessageID,
						Reason: bodyErasedReason(r)})
				}
			}
			var at time.Time
			if e.Compliance != nil {
				if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil {
					at = t
					if c.first.IsZero() || t.Before(c.first) {
						c.first = t
					}
				}
			}
			if e.Supersedes == nil && (show == nil || show(c.id, at)) {
				c.shown++
				if _, ok := st.MessageRecord(e.ConversationID, e.MessageID); ok {
					c.shownErased++
				} else if _, ok := st.Collateral(e.ConversationID, e.MessageID); ok {
					c.shownBodyErased++
				}
			}
			if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				// The attachments the message's latest capture downloaded
				// and keeps as evidence, as its transcript shows them (none
				// of a message erased or whose body is gone): a
				// re-capture with its attachments (after --media=false)
				// has them where the capture it supersedes had none.
				n := 0
				held := f.holdsMessage(&e, bad)
				for _, m := range d.(*leaf.MessageDetail).Media {
					if held && m.Evidence != "" && f.keeps(m.Evidence, bad) {
						n++
					}
					if m.Status != "" {
						f.exceptions = append(f.exceptions, Exception{Kind: "media_" + m.Status, ConversationID: e.ConversationID,
							MessageID: e.MessageID, Reason: cmp.Or(m.Reason, "attachment "+m.ID+": "+m.Status)})
					}
				}
				if n > 0 || e.Supersedes != nil { // a first capture without any replaces nothing
					k := gapKey(e.ConversationID, e.MessageID)
					f.attach += n - attachOf[k]
					if n > 0 {
						attachOf[k] = n
					} else {
						delete(attachOf, k)
					}
				}
			}
		case leaf.KindRun:
			d, err := leaf.DecodeDetail(e.Kind, e.Detail)
			if err != nil {
				continue
			}
			rd := d.(*leaf.RunDetail)
			if rd.Event == leaf.RunStart || rd.Event == leaf.RunResume {
				f.lastStart[e.RunID] = e.Seq
				if _, ok := f.runStarts[e.RunID]; !ok {
					f.runStarts[e.RunID] = rd
				}
				var scope struct {
					Interval string `json:"interval"`
				}
				if rd.APIURL != "" && !slices.Contains(f.apiHosts, rd.APIURL) {
					f.apiHosts = append(f.apiHosts, rd.APIURL)
				}
				for _, id := range rd.ClientIDs {
					if !slices.Contains(f.clientIDs, id) {
						f.clientIDs = append(f.clientIDs, id)
					}
				}
				if json.Unmarshal(rd.Scope, &scope) == nil && scope.Interval != "" && !seenInterval[scope.Interval] {
					seenInterval[scope.Interval] = true
					f.intervals = append(f.intervals, scope.Interval)
				}
			}
			switch rd.Event {
			case leaf.RunEnd:
				// Each invocation of a resumed run ends with the accounting
				// of the whole run so far: the last one is the run's, and
				// supersedes the earlier ones (a conversation failed then
				// may have been captured since).
				runEnd[e.RunID] = ended{rd.Accounting, e.Seq}
				f.lastEnd[e.RunID] = e.Seq
			case leaf.RunResume:
				// Taken up again: until it ends, the run has no accounting;
				// its run state says what failed (unendedRun).
				delete(runEnd, e.RunID)
			}
		case leaf.KindRefetch:
			if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				f.refetch[gapKey(e.ConversationID, e.MessageID)] = *d.(*leaf.RefetchDetail)
			}
		case leaf.KindDiff:
			f.diffSeq[e.RunID] = e.Seq
		case leaf.KindReport:
			if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				rd := d.(*leaf.ReportDetail)
				at := formatTime(e.At)
				f.reports = append(f.reports, RunInfo{RunID: e.RunID, Kind: leaf.KindReport, Status: "recorded", StartedAt: at, EndedAt: at,
					Operator: rd.Operator, ToolVersion: rd.ToolVersion, Scope: json.RawMessage(`{}`),
					Outcome: fmt.Sprintf("%d files recorded at seq %d, describing %d entries", len(rd.Files), e.Seq, rd.LedgerSize)})
			}
		}
	}
	f.root = rb.Root()
	for _, end := range runEnd {
		for _, x := range runFailures(end.acct) {
			// A capture after the run ended (another run's: a refetch,
			// a second export) supersedes the failure, as a later
			// invocation of the same run does.
			if c := f.convs[x.ConversationID]; c != nil && !c.leafHash.IsZero() && c.seq > end.seq {
				continue
			}
			f.exceptions = append(f.exceptions, x)
		}
	}
	for _, c := range f.convs {
		if c.leafHash.IsZero() && len(c.msgSeqs) == 0 {
			continue
		}
		f.order = append(f.order, c)
		if !c.leafHash.IsZero() && !c.inInterval && len(f.intervals) > 0 {
			f.byID++
		}
		if c.held {
			f.held++
		}
		if r, ok := st.ConversationRecord(c.id); ok {
			f.exceptions = append(f.exceptions, Exception{Kind: "erased", ConversationID: c.id, Reason: erasedReason("conversation", r)})
		}
		for _, g := range c.gone {
			f.exceptions = append(f.exceptions, Exception{Kind: "gone_at_source", ConversationID: c.id, MessageID: g,
				Reason: "the conversation lists the message but the source no longer has it: deleted upstream"})
		}
	}
	f.exceptions = append(f.exceptions, br.rows(f.convs, show)...)
	slices.SortFunc(f.order, func(a, b *convState) int {
		return cmp.Or(a.first.Compare(b.first), strings.Compare(a.id, b.id))
	})
	for k, r := range f.refetch {
		switch r.Outcome {
		case "gone_at_source", "not_at_source", "still_missing":
			conv, msg, _ := strings.Cut(k, "/")
			f.exceptions = append(f.exceptions, Exception{Kind: r.Outcome, ConversationID: conv, MessageID: msg, Reason: r.Reason})
		}
	}
	f.exceptions = sortExceptions(f.exceptions)
	return f, nil
}

// runFailures are the failed and gone conversations of a run's
// accounting, as exceptions.
func runFailures(acct json.RawMessage) []Exception {
	var out []Exception
	for _, x := range verify.AccountingFailures(acct) {
		kind := "failed"
		if x.Gone {
			kind = "gone_at_source"
		}
		out = append(out, Exception{Kind: kind, ConversationID: x.ConversationID, Reason: x.Reason})
	}
	return out
}

// pendingRows are section 7's rows for the conversations run r listed
// and left pending (its run state: run_items), but for those a capture
// after seq took since (a resume's, a refetch's, another export's): the
// rule failures follow. ended says whether the run ended.
func pendingRows(ctx context.Context, l *ledger.Ledger, r ledger.Run, seq uint64, ended bool, lf *ledgerFacts) ([]Exception, error) {
	items, err := l.RunItems(ctx, r.ID, ledger.ItemPending)
	if err != nil {
		return nil, err
	}
	when := "when it ended (section 1 gives its outcome and why)"
	if !ended {
		when = "when it was stopped without ending (killed, or still running)"
	}
	var out []Exception
	for _, it := range items {
		reason := fmt.Sprintf("listed by run %s and not captured: pending %s", r.ID, when)
		if c := lf.convs[it.ItemID]; c != nil && !c.leafHash.IsZero() {
			if c.seq > seq {
				continue // captured since
			}
			reason += fmt.Sprintf("; the ledger's latest capture of it, at seq %d, is older than the run", c.seq)
		}
		out = append(out, Exception{Kind: KindPending, ConversationID: it.ItemID, Reason: reason})
	}
	return out, nil
}

// sortExceptions orders exceptions by kind, conversation and message (and,
// for one record with several objects, the object and reason), and
// drops repeats.
func sortExceptions(es []Exception) []Exception {
	obj := func(x Exception) string {
		if x.Ledger == nil {
			return ""
		}
		return x.Ledger.EvidenceSHA256
	}
	slices.SortFunc(es, func(a, b Exception) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.ConversationID, b.ConversationID), strings.Compare(a.MessageID, b.MessageID),
			strings.Compare(obj(a), obj(b)), strings.Compare(a.Reason, b.Reason))
	})
	return slices.CompactFunc(es, func(a, b Exception) bool {
		return a.Kind == b.Kind && a.ConversationID == b.ConversationID && a.MessageID == b.MessageID && a.Reason == b.Reason && obj(a) == obj(b)
	})
}
