package produce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/export"
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
	// Interval "start/end" (dates or RFC 3339, as export.ParseInterval
	// reads them) keeps the messages sent in [start, end).
	Interval string
	// LegalHoldOnly keeps the conversations under legal hold: under
	// deletion protection when last captured, or under a matter hold
	// (custody hold) not released (erasure.State.HoldsOn).
	LegalHoldOnly bool
	// DiffRunID records that DiffConversations came from that diff; the
	// caller resolves the diff (reconcile reads it back).
	DiffRunID string
	// DiffConversations, with DiffRunID, are the conversations the diff
	// had findings in; those never captured are left out.
	DiffConversations []string
	// DiffSkippedErased, with DiffRunID, are the conversations the diff
	// had findings in that are not selected: every finding of theirs is
	// erased (custody erase deleted what the diff could not compare), so
	// nothing of theirs is a discrepancy to produce (DiffSelection).
	DiffSkippedErased []string
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
	// ErrBadOption: an option out of its range (format, control number
	// prefix, digits, start), found before anything is read or written;
	// the command's flags set them, so it reports a usage error.
	ErrBadOption = errors.New("produce: bad option")
)

// parseInterval reads "start/end" as export and report do
// (export.ParseInterval: dates or RFC 3339, end excluded).
func parseInterval(s string) (time.Time, time.Time, error) {
	_, start, end, err := export.ParseInterval(s)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: %w", ErrBadInterval, err)
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
	legalHold bool // deletion protection when captured (the entry's legal_hold)
	// holds are the legal holds on the conversation when produced: its
	// capture's deletion protection and the matter hold in force.
	holds  erasure.Holds
	strict bool // the scan found leaf strict (leaf.CheckLeaf)
	msgs   []*msgEntry
}

// msgEntry is what produce keeps of a message's latest capture: the
// leaf's own fields (seq, hashes, ids, time, evidence), never its
// content, which comes from the evidence. The leaf bytes are read again
// for the proof, conversation by conversation, so memory holds no leaf.
type msgEntry struct {
	seq      uint64
	leafHash hashchain.Hash
	convID   string
	msgID    string
	at       time.Time
	payload  hashchain.Hash
	evidence hashchain.Hash
	media    []leaf.MediaRef
	strict   bool      // the scan found its leaf strict (leaf.CheckLeaf)
	captured time.Time // the entry's at: when custody captured it
	// earlier are the message's earlier captures, oldest first: after
	// the scan every one it superseded, after selectMessages those
	// produced too (earlierOf). latest is, on an earlier capture that
	// is produced, the seq of its message's latest capture.
	earlier []*msgEntry
	latest  uint64
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
	id = strings.Clone(id) // the caller's may be a view of a leaf
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
	// Rows are read here, decoded in batches on every core and applied
	// in seq order by one goroutine: decoding is most of a scan's work,
	// and the order decides which capture is the latest.
	decode := make(chan *scanBatch, scanDecoders)
	ordered := make(chan *scanBatch, 2*scanDecoders)
	var wg sync.WaitGroup
	for range scanDecoders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range decode {
				for i := range b.items {
					b.items[i].decode()
				}
				close(b.done)
			}
		}()
	}
	var failed atomic.Bool
	applied := make(chan error, 1)
	// Applied batches' buffers come back for new ones: nothing applied
	// keeps a view of them (see decode).
	free := make(chan *scanBatch, 2*scanDecoders+2)
	go func() {
		var first error
		for b := range ordered {
			<-b.done
			for i := range b.items {
				if first == nil {
					if first = s.apply(&b.items[i]); first != nil {
						failed.Store(true)
					}
				}
			}
			select {
			case free <- b:
			default:
			}
		}
		applied <- first
	}()
	newBatch := func(size int) *scanBatch {
		select {
		case b := <-free:
			clear(b.items) // let go of what the last use decoded
			b.buf, b.items, b.done = b.buf[:0], b.items[:0], make(chan struct{})
			return b
		default:
			return newScanBatch(size)
		}
	}
	readErr := func() error {
		b := newBatch(0)
		flush := func() {
			for i := range b.items {
				it := &b.items[i]
				it.leaf = b.buf[it.leafAt:it.leafEnd:it.leafEnd]
			}
			decode <- b
			ordered <- b
			b = newBatch(len(b.buf) + len(b.buf)/8) // leaves are alike: no growing on the way
		}
		defer func() {
			if len(b.items) > 0 {
				flush()
			}
			close(decode)
			close(ordered)
		}()
		for raw, err := range snap.Entries(ctx) {
			if err != nil {
				return fmt.Errorf("produce: %w", err)
			}
			if raw.Seq != uint64(len(s.hashes)) || len(raw.LeafHash) != hashchain.HashSize {
				return fmt.Errorf("produce: %w: entry %d is missing or damaged", ledger.ErrInconsistent, len(s.hashes))
			}
			lh := hashchain.Hash(raw.LeafHash)
			s.hashes = append(s.hashes, lh)
			// The row's bytes are only valid until the next row: the
			// batch keeps its own copy, in one buffer for the batch.
			off := len(b.buf)
			b.buf = append(b.buf, raw.Leaf...)
			b.items = append(b.items, scanItem{seq: raw.Seq, lh: lh, leafAt: off, leafEnd: len(b.buf)})
			if len(b.items) == scanBatchSize {
				flush()
				if failed.Load() {
					return nil // the applier has the error
				}
			}
		}
		return nil
	}()
	wg.Wait()
	if err := <-applied; err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	return s, nil
}

// scanDecoders is how many goroutines decode a scan's leaves, and
// scanBatchSize how many entries they take at a time (a variable for the
// tests, which make batches tiny so that buffers are reused often).
const scanDecoders = 2

var scanBatchSize = 512

// scanBatch is consecutive entries of a scan: their leaves in buf, and
// done closed once they are decoded.
type scanBatch struct {
	buf   []byte
	items []scanItem
	done  chan struct{}
}

func newScanBatch(size int) *scanBatch {
	return &scanBatch{buf: make([]byte, 0, size), items: make([]scanItem, 0, scanBatchSize), done: make(chan struct{})}
}

// scanItem is one entry of a scan batch, then what decoding it found.
type scanItem struct {
	seq             uint64
	lh              hashchain.Hash
	leafAt, leafEnd int // its leaf in the batch's buf
	leaf            []byte
	skip            bool // a kind produce does not read
	e               leaf.Entry
	conv            *convEntry // a conversation capture
	msg             *msgEntry  // a message capture
	err             error
}

// decode decodes the item's leaf (safe to run beside other items). The
// leaf is checked strict in the same pass (leaf.DecodeChecked), so that
// its proof need not check it again; its strings are views of the
// batch's buffer, so those kept are cloned.
func (it *scanItem) decode() {
	raw := it.leaf
	kind, ok := quickKind(raw)
	if ok && kind != leaf.KindMessage && kind != leaf.KindConversation && kind != leaf.KindErasure && kind != leaf.KindHold {
		it.skip = true
		return
	}
	var e leaf.Entry
	var strict, copied bool
	var err error
	if kind == leaf.KindErasure || kind == leaf.KindHold {
		copied = true
		// Rare, and kept whole by the erasure state: decoded from a copy
		// (a decoded detail is a view of its leaf; the batch's buffer is
		// used again).
		e, err = leaf.DecodeLeaf(bytes.Clone(raw))
	} else {
		e, strict, err = leaf.DecodeChecked(raw)
	}
	if err != nil {
		it.err = fmt.Errorf("produce: %w: entry %d: %w", ledger.ErrInconsistent, it.seq, err)
		return
	}
	switch e.Kind {
	case leaf.KindErasure, leaf.KindHold:
		if !copied {
			// quickKind could not tell: decode again, from a copy.
			if e, err = leaf.DecodeLeaf(bytes.Clone(raw)); err != nil {
				it.err = fmt.Errorf("produce: %w: entry %d: %w", ledger.ErrInconsistent, it.seq, err)
				return
			}
		}
		e.Seq = it.seq
		it.e = e
	case leaf.KindConversation:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			it.err = fmt.Errorf("produce: entry %d: %w", it.seq, err)
			return
		}
		cd, _ := d.(*leaf.ConversationDetail)
		it.conv = &convEntry{id: strings.Clone(e.ConversationID), seq: it.seq, leafHash: it.lh, leaf: bytes.Clone(raw), strict: strict,
			evidence: e.EvidenceSHA256, runID: strings.Clone(e.RunID), legalHold: cd != nil && cd.LegalHold}
	case leaf.KindMessage:
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			it.err = fmt.Errorf("produce: entry %d: %w", it.seq, err)
			return
		}
		md, _ := d.(*leaf.MessageDetail)
		m := &msgEntry{seq: it.seq, leafHash: it.lh, convID: e.ConversationID, msgID: strings.Clone(e.MessageID),
			payload: e.PayloadSHA256, evidence: e.EvidenceSHA256, strict: strict, captured: e.At}
		if md != nil {
			m.media = md.Media
		}
		if e.Compliance != nil {
			if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil {
				m.at = t
			}
		}
		if m.at.IsZero() {
			it.err = fmt.Errorf("produce: entry %d: message %s has no readable timestamp", it.seq, m.msgID)
			return
		}
		it.msg = m
	}
}

// apply adds a decoded item to the scan, in seq order.
func (s *scan) apply(it *scanItem) error {
	if it.err != nil {
		return it.err
	}
	switch {
	case it.skip:
	case it.conv != nil:
		c := s.convs[it.conv.id]
		if c == nil {
			c = &convEntry{id: it.conv.id}
			s.convs[it.conv.id] = c
		}
		c.seq, c.leafHash, c.leaf, c.strict, c.evidence, c.runID, c.legalHold = it.conv.seq, it.conv.leafHash, it.conv.leaf, it.conv.strict, it.conv.evidence, it.conv.runID, it.conv.legalHold
	case it.msg != nil:
		it.msg.convID = s.intern(it.msg.convID) // a view of the batch until interned
		// A later capture supersedes an earlier one as the message
		// produced; the earlier ones are kept, to be produced beside it
		// (earlierOf): what the message said before it was deleted or
		// edited at the source is what a review needs most.
		if prev := s.msgs[it.msg.msgID]; prev != nil {
			it.msg.earlier = append(prev.earlier, prev)
			prev.earlier = nil
		}
		s.msgs[it.msg.msgID] = it.msg
	case it.e.Kind == leaf.KindErasure || it.e.Kind == leaf.KindHold:
		// Read in the same snapshot as the messages, so that what is
		// erased and what is produced agree.
		if err := s.erasure.Add(&it.e); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
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
		if sel.LegalHoldOnly && !s.erasure.HoldsOn(m.convID, c != nil && c.legalHold).Held() {
			continue
		}
		if status, seq, ok := s.erasedContent(m); ok {
			gone = append(gone, production.Erased{ConversationID: m.convID, MessageID: m.msgID, Seq: m.seq, LeafHash: m.leafHash.String(),
				Status: status, ErasureSeq: seq})
			continue
		}
		m.earlier = s.earlierOf(m)
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
		if n := len(sel.DiffSkippedErased); n > 0 && sel.DiffRunID != "" {
			return nil, nil, fmt.Errorf("%w: %d conversations of diff %s skipped: their only findings are erased", ErrEmptySelection, n, sel.DiffRunID)
		}
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
		c.holds = s.erasure.HoldsOn(c.id, c.legalHold)
		if !c.evidence.IsZero() {
			if _, ok := s.erasure.Object(c.evidence); ok {
				c.evidence = hashchain.Hash{} // its conversation body is erased: participants come from the messages alone
			}
		}
	}
	return convs, gone, nil
}

// earlierOf is the earlier captures of m that are produced beside it,
// oldest first: each whose API object (payload_sha256) differs from the
// latest's and from every earlier one's kept (the first capture of each
// content); a re-capture of the same object — one that only downloaded
// attachments an earlier capture had not — adds nothing. One whose
// content an erasure deleted is left out (the latest capture, produced,
// is not erased).
func (s *scan) earlierOf(m *msgEntry) []*msgEntry {
	if len(m.earlier) == 0 {
		return nil
	}
	var out []*msgEntry
	seen := map[hashchain.Hash]bool{m.payload: true}
	for _, e := range m.earlier {
		if seen[e.payload] {
			continue
		}
		if _, _, erased := s.erasedContent(e); erased {
			continue
		}
		seen[e.payload] = true
		e.latest, e.earlier = m.seq, nil
		out = append(out, e)
	}
	return out
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
