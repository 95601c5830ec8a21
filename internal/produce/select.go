package produce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// Selection says which messages a production holds. Every member narrows
// it; the zero Selection is every message the ledger captured.
type Selection struct {
	// Conversations, when not empty, are the only conversations
	// produced; each must be in the ledger.
	Conversations []string
	// Interval "start/end" (RFC 3339) keeps the messages sent in
	// [start, end).
	Interval string
	// LegalHoldOnly keeps the conversations whose latest capture was
	// under legal hold.
	LegalHoldOnly bool
	// DiffRunID records that DiffConversations came from that diff; the
	// caller resolves the diff (reconcile reads it back).
	DiffRunID string
	// DiffConversations, with DiffRunID, are the conversations the diff
	// had findings in; those never captured are left out.
	DiffConversations []string
}

// Errors of a selection, before anything is written.
var (
	ErrEmptySelection      = errors.New("produce: the selection holds no message")
	ErrUnknownConversation = errors.New("produce: conversation not in the ledger")
	ErrOutNotEmpty         = errors.New("produce: the output folder is not empty")
	ErrBadInterval         = errors.New("produce: bad interval")
	// ErrErasedConversation: the selection names a conversation erased
	// whole (custody erase); its content is gone and cannot be produced.
	ErrErasedConversation = errors.New("produce: conversation erased")
)

// parseInterval reads "start/end".
func parseInterval(s string) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("%w %q: want START/END (RFC 3339)", ErrBadInterval, s)
	}
	start, _, err1 := genesys.ParseTimestamp(a)
	end, _, err2 := genesys.ParseTimestamp(b)
	if err := errors.Join(err1, err2); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w %q: %w", ErrBadInterval, s, err)
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w %q: start is not before end", ErrBadInterval, s)
	}
	return start, end, nil
}

// convEntry is what produce keeps of a conversation's latest capture.
type convEntry struct {
	id        string
	seq       uint64
	leafHash  hashchain.Hash
	leaf      []byte
	evidence  hashchain.Hash // the GET conversation body
	runID     string
	legalHold bool
	msgs      []*msgEntry
}

// msgEntry is what produce keeps of a message's latest capture: the
// leaf's own fields (seq, hashes, ids, time, hold, evidence), never its
// content, which comes from the evidence. The leaf bytes are read again
// for the proof, conversation by conversation, so memory holds no leaf.
type msgEntry struct {
	seq      uint64
	leafHash hashchain.Hash
	convID   string
	msgID    string
	at       time.Time
	held     int8 // the leaf's compliance.legal_hold: -1 null, 0 false, 1 true
	payload  hashchain.Hash
	evidence hashchain.Hash
	media    []leaf.MediaRef
}

// scan is one pass over the ledger: every leaf hash (for the proofs) and
// the latest capture of every conversation and message.
type scan struct {
	hashes []hashchain.Hash
	convs  map[string]*convEntry
	msgs   map[string]*msgEntry
	cps    []ledger.StoredCheckpoint
	ids    map[string]string // conversation ids, one copy each
	// erasure is what the ledger's erasure entries erased: never
	// produced, listed in the manifest instead.
	erasure *erasure.State
}

// intern returns one shared copy of a conversation id: a conversation's
// messages all name it.
func (s *scan) intern(id string) string {
	if have, ok := s.ids[id]; ok {
		return have
	}
	s.ids[id] = id
	return id
}

func scanLedger(ctx context.Context, l *ledger.Ledger) (*scan, error) {
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	defer snap.Close()
	s := &scan{convs: map[string]*convEntry{}, msgs: map[string]*msgEntry{}, ids: map[string]string{}, erasure: erasure.New()}
	if s.cps, err = snap.Checkpoints(ctx); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	for raw, err := range snap.Entries(ctx) {
		if err != nil {
			return nil, fmt.Errorf("produce: %w", err)
		}
		if raw.Seq != uint64(len(s.hashes)) || len(raw.LeafHash) != hashchain.HashSize {
			return nil, fmt.Errorf("produce: %w: entry %d is missing or damaged", ledger.ErrInconsistent, len(s.hashes))
		}
		lh := hashchain.Hash(raw.LeafHash)
		s.hashes = append(s.hashes, lh)
		if err := s.add(raw, lh); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *scan) add(raw ledger.RawEntry, lh hashchain.Hash) error {
	kind, ok := quickKind(raw.Leaf)
	if ok && kind != leaf.KindMessage && kind != leaf.KindConversation && kind != leaf.KindErasure && kind != leaf.KindHold {
		return nil
	}
	e, err := leaf.DecodeLeaf(raw.Leaf)
	if err != nil {
		return fmt.Errorf("produce: %w: entry %d: %w", ledger.ErrInconsistent, raw.Seq, err)
	}
	switch e.Kind {
	case leaf.KindErasure, leaf.KindHold:
		// Read in the same snapshot as the messages, so that what is
		// erased and what is produced agree.
		e.Seq = raw.Seq
		if err := s.erasure.Add(&e); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	case leaf.KindConversation:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return fmt.Errorf("produce: entry %d: %w", raw.Seq, err)
		}
		cd, _ := d.(*leaf.ConversationDetail)
		c := s.convs[e.ConversationID]
		if c == nil {
			c = &convEntry{id: e.ConversationID}
			s.convs[e.ConversationID] = c
		}
		c.seq, c.leafHash, c.leaf, c.evidence, c.runID = raw.Seq, lh, raw.Leaf, e.EvidenceSHA256, e.RunID
		c.legalHold = cd != nil && cd.LegalHold
	case leaf.KindMessage:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return fmt.Errorf("produce: entry %d: %w", raw.Seq, err)
		}
		md, _ := d.(*leaf.MessageDetail)
		m := &msgEntry{seq: raw.Seq, leafHash: lh, convID: s.intern(e.ConversationID), msgID: e.MessageID,
			payload: e.PayloadSHA256, evidence: e.EvidenceSHA256}
		if md != nil {
			m.media = md.Media
		}
		if e.Compliance != nil {
			m.held = -1
			if h := e.Compliance.LegalHold; h != nil && *h {
				m.held = 1
			} else if h != nil {
				m.held = 0
			}
			if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil {
				m.at = t
			}
		}
		if m.at.IsZero() {
			return fmt.Errorf("produce: entry %d: message %s has no readable timestamp", raw.Seq, m.msgID)
		}
		s.msgs[e.MessageID] = m // a later capture supersedes an earlier one
	}
	return nil
}

// quickKind reads the "kind" member of a leaf without decoding it, to skip
// the entries produce does not read; ok is false when it cannot tell.
// The top-level member is the last one so named: RFC 8785 orders a
// leaf's members, and only "detail", before it, can hold objects.
func quickKind(b []byte) (string, bool) {
	const key = `"kind":"`
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := b[i+len(key):]
	j := slices.Index(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// selectMessages applies sel to the scan: the selected conversations in
// id order, each with its selected messages in time order, and the
// selected messages left out because an erasure deleted their content
// (by conversation id, then seq).
func (s *scan) selectMessages(sel Selection) ([]*convEntry, []production.Erased, error) {
	var start, end time.Time
	if sel.Interval != "" {
		var err error
		if start, end, err = parseInterval(sel.Interval); err != nil {
			return nil, nil, err
		}
	}
	msgConvs := map[string]bool{}
	for _, m := range s.msgs {
		msgConvs[m.convID] = true
	}
	var want map[string]bool
	if len(sel.Conversations) > 0 {
		want = map[string]bool{}
		var unknown []string
		for _, id := range sel.Conversations {
			if !msgConvs[id] {
				unknown = append(unknown, id)
			}
			want[id] = true
		}
		if len(unknown) > 0 {
			return nil, nil, fmt.Errorf("%w: %s", ErrUnknownConversation, strings.Join(unknown, ", "))
		}
		// Naming an erased conversation is an error, not a silent skip:
		// whoever asked for it must learn that it cannot be produced.
		var erased []string
		for _, id := range sel.Conversations {
			if r, ok := s.erasure.ConversationRecord(id); ok {
				erased = append(erased, fmt.Sprintf("%s (erasure entry %d: %s)", id, r.Seq, r.Reason))
			}
		}
		if len(erased) > 0 {
			return nil, nil, fmt.Errorf("%w: %s; its content is gone and cannot be produced (leave it out of --conversation)", ErrErasedConversation, strings.Join(erased, ", "))
		}
	}
	var fromDiff map[string]bool
	if sel.DiffRunID != "" {
		fromDiff = map[string]bool{}
		for _, id := range sel.DiffConversations {
			fromDiff[id] = true
		}
	}
	byConv := map[string]*convEntry{}
	var gone []production.Erased
	for _, m := range s.msgs {
		switch {
		case want != nil && !want[m.convID]:
			continue
		case fromDiff != nil && !fromDiff[m.convID]:
			continue
		case sel.Interval != "" && (m.at.Before(start) || !m.at.Before(end)):
			continue
		}
		c := s.convs[m.convID]
		if sel.LegalHoldOnly && (c == nil || !c.legalHold) {
			continue
		}
		if status, seq, ok := s.erasedContent(m); ok {
			gone = append(gone, production.Erased{ConversationID: m.convID, MessageID: m.msgID, Seq: m.seq, LeafHash: m.leafHash.String(),
				Status: status, ErasureSeq: seq})
			continue
		}
		out := byConv[m.convID]
		if out == nil {
			out = &convEntry{id: m.convID}
			if c != nil {
				cp := *c
				cp.msgs = nil
				out = &cp
			}
			byConv[m.convID] = out
		}
		out.msgs = append(out.msgs, m)
	}
	slices.SortFunc(gone, func(a, b production.Erased) int {
		if r := strings.Compare(a.ConversationID, b.ConversationID); r != 0 {
			return r
		}
		return int(a.Seq) - int(b.Seq)
	})
	if len(byConv) == 0 {
		if len(gone) > 0 {
			return nil, nil, fmt.Errorf("%w: its %d messages were erased, or their content deleted by an erasure", ErrEmptySelection, len(gone))
		}
		return nil, nil, ErrEmptySelection
	}
	convs := make([]*convEntry, 0, len(byConv))
	for _, c := range byConv {
		slices.SortFunc(c.msgs, func(a, b *msgEntry) int {
			if r := a.at.Compare(b.at); r != 0 {
				return r
			}
			return int(a.seq) - int(b.seq)
		})
		convs = append(convs, c)
	}
	slices.SortFunc(convs, func(a, b *convEntry) int { return strings.Compare(a.id, b.id) })
	for _, c := range convs {
		if !c.evidence.IsZero() {
			if _, ok := s.erasure.Object(c.evidence); ok {
				c.evidence = hashchain.Hash{} // its conversation body is erased: participants come from the messages alone
			}
		}
	}
	return convs, gone, nil
}

// erasedContent says whether an erasure deleted m's content, how
// (production.StatusErased or StatusBodyErased) and by which entry.
func (s *scan) erasedContent(m *msgEntry) (string, uint64, bool) {
	if r, ok := s.erasure.MessageRecord(m.convID, m.msgID); ok {
		return production.StatusErased, r.Seq, true
	}
	if r, ok := s.erasure.Collateral(m.convID, m.msgID); ok {
		return production.StatusBodyErased, r.Seq, true
	}
	if seq, ok := s.erasure.Object(m.evidence); ok {
		return production.StatusBodyErased, seq, true
	}
	return "", 0, false
}
