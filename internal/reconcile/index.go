package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/millis"
)

// LedgerIndex is the diff's view of what custody captured: the latest
// capture of every message in the ledger, as the ledger stood when the
// index was first used (entries appended later are not seen, so a diff
// running beside an export compares against one consistent ledger).
//
// A diff reads it through Conversation (from several goroutines at once),
// Conversations and Captures, and reads each message entry about once.
// Each, for other callers, reads every message entry and then whole the
// conversations Conversation has not loaded, to learn which captures later
// ones supersede (the ledger only allows supersedes within a
// conversation).
//
// A v3 capture (ledger format v3) holds its content hash and sender only
// as salted commitments: the index opens them with the message's opening
// from Evidence, checking it against the commitments. A capture erased
// since (custody erase) comes with Erased set and nothing to compare.
type LedgerIndex struct {
	L *ledger.Ledger
	// Evidence is the matter's evidence store: where the openings of v3
	// captures are (needed only when the ledger has any), and what is read
	// to tell whether a conversation the export lacks held sensitive data
	// (diff.SensitiveIndex: the ledger keeps only content hashes).
	Evidence evidence.Store
	// Matter, when set, limits the index to entries of that matter.
	Matter string

	erased *erasure.State // loaded with the snapshot

	mu         sync.Mutex
	snapped    bool
	size       uint64              // ledger size at first use: entries at or past it are not seen
	loaded     map[string]struct{} // conversations whose message entries were all read
	superseded map[uint64]struct{} // seqs of captures a later capture replaced, in loaded conversations
	checked    []uint64            // bit per seq: Conversation returned it, its opening (if any) read and checked (missing.go)
	reads      *semaphore.Weighted // openings being read from a remote store, by every caller (readSlots)
}

var _ diff.ParallelIndex = (*LedgerIndex)(nil)

// Parallelism implements diff.ParallelIndex: the evidence store's
// (evidence.Parallelism), whose reads SensitiveData waits on.
func (x *LedgerIndex) Parallelism() int { return evidence.Parallelism(x.Evidence) }

// readSlots is the limit on openings read from a remote store at once,
// shared by every caller: the store's Parallelism.
func (x *LedgerIndex) readSlots() *semaphore.Weighted {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.reads == nil {
		x.reads = semaphore.NewWeighted(int64(evidence.Parallelism(x.Evidence)))
	}
	return x.reads
}

// snapshot fixes the index's view of the ledger on first use.
func (x *LedgerIndex) snapshot(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.snapped {
		return nil
	}
	h, err := x.L.Head(ctx)
	if err != nil {
		return err
	}
	if x.erased, err = erasure.Load(ctx, x.L); err != nil {
		return err
	}
	x.snapped, x.size = true, h.Size
	x.loaded, x.superseded = map[string]struct{}{}, map[uint64]struct{}{}
	return nil
}

// load reads every message entry of convID in the snapshot, in seq order,
// notes the captures they supersede, and passes each to fn (when set).
func (x *LedgerIndex) load(ctx context.Context, convID string, fn func(leaf.Entry) error) error {
	var superseded []uint64
	err := x.L.ConversationMessages(ctx, convID, x.size, func(e leaf.Entry) error {
		if e.Supersedes != nil {
			superseded = append(superseded, *e.Supersedes)
		}
		if fn != nil {
			return fn(e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, seq := range superseded {
		x.superseded[seq] = struct{}{}
	}
	// The id is copied: it is often a slice of a long file name.
	x.loaded[strings.Clone(convID)] = struct{}{}
	return nil
}

// isLoaded and isSuperseded read what load noted.
func (x *LedgerIndex) isLoaded(conv string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.loaded[conv]
	return ok
}

func (x *LedgerIndex) isSuperseded(seq uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.superseded[seq]
	return ok
}

// captured reduces a message entry to what the diff compares, opening a
// v3 entry's commitments and reading its attachments and template header
// media.
func (x *LedgerIndex) captured(ctx context.Context, e leaf.Entry) (diff.Captured, error) {
	c, p, err := x.reduce(e)
	if err == nil && p.open != nil {
		err = x.fill(ctx, &c, p.open)
	}
	if err == nil && !p.message.sum.IsZero() {
		st := standing{out: []diff.Captured{c}, message: []mediaRead{p.message}}
		err = x.readMessageMedia(ctx, []*standing{&st})
		c = st.out[0]
	}
	return c, err
}

// pending is what a reduced capture still needs read from evidence.
type pending struct {
	// open is the v3 detail whose opening is to be read into the
	// capture (fill); nil when there is none.
	open *leaf.MessageDetail
	// message is the evidence of the captured message, read for its
	// attachments and template header media (readMessageMedia); its sum
	// is zero when nothing is to be read.
	message mediaRead
}

// reduce is captured without reading evidence: it returns what is still
// to be read into c.
func (x *LedgerIndex) reduce(e leaf.Entry) (diff.Captured, pending, error) {
	var p pending
	dd, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	if err != nil {
		return diff.Captured{}, p, fmt.Errorf("reconcile: entry %d: %w", e.Seq, err)
	}
	d := dd.(*leaf.MessageDetail)
	c := captureBase(&e)
	switch {
	case x.erased.Message(e.ConversationID, e.MessageID):
		c.Erased = true
		if r, ok := x.erased.MessageRecord(e.ConversationID, e.MessageID); ok {
			c.ErasedBy = r.Seq
		}
		return c, p, nil
	case d.Salted():
		p.open = d
	default:
		c.ContentSHA256, c.Sender = d.ContentSHA256, d.From
	}
	if x.Evidence != nil {
		// The message's evidence names its attachments and its
		// template's header media, whether custody downloaded them or
		// not (--media=false, expired urls).
		p.message = mediaRead{sum: e.EvidenceSHA256}
	}
	return c, p, nil
}

// fill opens the commitments of d, c's v3 detail, and fills in what c
// takes from them.
func (x *LedgerIndex) fill(ctx context.Context, c *diff.Captured, d *leaf.MessageDetail) error {
	od, err := x.open(ctx, c.Seq, c.MessageID, d)
	if err != nil {
		return err
	}
	c.ContentSHA256, c.Sender = od.ContentSHA256, od.From
	return nil
}

// captureBase is what a capture takes from its entry alone: ids, Seq and
// the compliance fields (the content hash and sender are the detail's).
func captureBase(e *leaf.Entry) diff.Captured {
	c := diff.Captured{ConversationID: e.ConversationID, MessageID: e.MessageID, Seq: e.Seq}
	if comp := e.Compliance; comp != nil {
		c.Timestamp = comp.OriginalTimestamp
		if _, ok := millis.Parse(c.Timestamp); ok {
			// Already in the form FormatMillis prints (as export records
			// them): no parse, no new string.
		} else if t, _, err := genesys.ParseTimestamp(comp.OriginalTimestamp); err == nil {
			c.Timestamp = genesys.FormatMillis(t)
		}
		c.LegalHold = comp.LegalHold
		c.AuditRefs = comp.AuditRefs
	}
	return c
}

// readBufs are the buffers evidence objects are read into, from stores
// that are evidence.GetIntoer, so that reading one an item (an opening a
// capture, a body a conversation) allocates none; a buffer grown past max
// is not kept.
type readBufs struct {
	pool sync.Pool
	max  int
}

func newReadBufs(size, max int) *readBufs {
	return &readBufs{pool: sync.Pool{New: func() any { b := make([]byte, 0, size); return &b }}, max: max}
}

// get reads the object at sum from st. bp, when not nil, is the pooled
// buffer b lies in: hand it to put once b is no longer used.
func (r *readBufs) get(ctx context.Context, st evidence.Store, sum hashchain.Hash) (b []byte, bp *[]byte, err error) {
	gi, ok := st.(evidence.GetIntoer)
	if !ok {
		b, err = st.Get(ctx, sum)
		return b, nil, err
	}
	bp = r.pool.Get().(*[]byte)
	b, err = gi.GetInto(ctx, sum, *bp)
	return b, bp, err
}

// put gives back the buffer get read b into.
func (r *readBufs) put(bp *[]byte, b []byte) {
	if bp == nil {
		return
	}
	if cap(b) <= r.max {
		*bp = b[:0]
	}
	r.pool.Put(bp)
}

// openingBufs: openings are a few hundred bytes.
var openingBufs = newReadBufs(1024, 64<<10)

// open reads the opening of a v3 capture from the evidence store and
// returns the detail with its personal fields opened.
func (x *LedgerIndex) open(ctx context.Context, seq uint64, msgID string, d *leaf.MessageDetail) (*leaf.MessageDetail, error) {
	if x.Evidence == nil {
		return nil, fmt.Errorf("reconcile: entry %d is a v3 capture: opening it needs the evidence store", seq)
	}
	sum, err := hashchain.ParseHash(d.OpeningEvidence)
	if err != nil {
		return nil, fmt.Errorf("reconcile: entry %d: opening: %w", seq, err)
	}
	b, bp, err := openingBufs.get(ctx, x.Evidence, sum)
	defer openingBufs.put(bp, b)
	if err != nil {
		return nil, fmt.Errorf("reconcile: entry %d: opening %s (the message is not erased): %w", seq, sum, err)
	}
	// ParseOpening then Open, without their allocations: one per capture.
	od, msg, err := d.OpenStored(b)
	if msg != "" && msg != msgID || err == nil && msg != msgID {
		err = fmt.Errorf("it is message %q's", msg)
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: entry %d: opening %s: %w", seq, sum, err)
	}
	return od, nil
}

// Lookup implements diff.Index: the latest capture of msgID in convID,
// as the ledger stood at the snapshot. The same message id in another
// conversation is another message (supersedes never crosses
// conversations), whichever was captured last; convID "" takes the
// latest capture in any conversation.
func (x *LedgerIndex) Lookup(ctx context.Context, convID, msgID string) (diff.Captured, bool, error) {
	if err := x.snapshot(ctx); err != nil {
		return diff.Captured{}, false, err
	}
	var e leaf.Entry
	var ok bool
	var err error
	if convID == "" {
		e, ok, err = x.L.LatestCapture(ctx, msgID)
	} else {
		var latest map[ledger.Capture]leaf.Entry
		latest, err = x.L.LatestCaptures(ctx, []string{msgID})
		e, ok = latest[ledger.Capture{ConversationID: convID, MessageID: msgID}]
	}
	if err == nil && ok && e.Seq >= x.size {
		// Captured again since the snapshot: the latest capture before it.
		var all []leaf.Entry
		if all, err = x.L.EntriesByMessage(ctx, msgID); err != nil {
			return diff.Captured{}, false, err
		}
		ok = false
		for _, old := range all {
			if old.Kind == leaf.KindMessage && old.Seq < x.size && (convID == "" || old.ConversationID == convID) {
				e, ok = old, true
			}
		}
	}
	if err != nil || !ok || (x.Matter != "" && e.Matter != x.Matter) {
		return diff.Captured{}, false, err
	}
	c, err := x.captured(ctx, e)
	return c, err == nil, err
}

// eachChunk is how many message entries Each reads per query: between
// queries it reads the conversations it has not seen, so the ledger is
// read through one connection at a time (each keeps its own page cache).
var eachChunk = 8192 // a variable for tests

// Each implements diff.Index: every message's latest capture, in ledger
// order, in one pass over the message entries (see LedgerIndex).
func (x *LedgerIndex) Each(ctx context.Context, fn func(diff.Captured) error) error {
	if err := x.snapshot(ctx); err != nil {
		return err
	}
	type item struct {
		seq  uint64
		conv string
		c    diff.Captured
		skip bool // another matter's
	}
	chunk := make([]item, 0, eachChunk)
	for from := uint64(0); from < x.size; {
		chunk = chunk[:0]
		for e, err := range x.L.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, FromSeq: from, Limit: eachChunk}) {
			if err != nil {
				return err
			}
			if e.Seq >= x.size {
				break
			}
			it := item{seq: e.Seq, conv: e.ConversationID, skip: x.Matter != "" && e.Matter != x.Matter}
			if !it.skip {
				c, err := x.captured(ctx, e)
				if err != nil {
					return err
				}
				it.c = c
			}
			chunk = append(chunk, it)
		}
		if len(chunk) == 0 {
			break
		}
		for _, it := range chunk {
			if !x.isLoaded(it.conv) {
				// Its later entries, if any, may supersede this one: read
				// the conversation whole before deciding.
				if err := x.load(ctx, it.conv, nil); err != nil {
					return err
				}
			}
		}
		for _, it := range chunk {
			if it.skip || x.isSuperseded(it.seq) {
				continue
			}
			if err := fn(it.c); err != nil {
				return err
			}
		}
		if len(chunk) < eachChunk {
			break
		}
		from = chunk[len(chunk)-1].seq + 1
	}
	return nil
}

// Conversation implements diff.ConversationIndex: one query per
// conversation instead of one per message.
func (x *LedgerIndex) Conversation(ctx context.Context, convID string) ([]diff.Captured, error) {
	if convID == "" {
		return nil, nil // a filter on "" would match every entry
	}
	if err := x.snapshot(ctx); err != nil {
		return nil, err
	}
	out, err := x.conversation(ctx, convID, x.reduce)
	if err != nil {
		return nil, err
	}
	x.noteChecked(out)
	return out, nil
}

// standing collects a conversation's captures read in seq order and
// keeps the latest of each message: a later capture replaces an earlier
// one in place. The batched and the single conversation loads both go
// through it, so they cannot disagree on which capture stands. A v3
// capture's opening is read only once it is known to stand (openAll),
// not for every capture read.
type standing struct {
	latest map[string]int // message id → index in out; nil up to standingScanLimit captures (find)
	out    []diff.Captured
	toOpen []*leaf.MessageDetail // toOpen[i]: out[i]'s v3 detail, its opening not read yet
	// message[i]: the evidence of out[i]'s message, its attachments and
	// template header media not read yet (readMessageMedia); its sum zero
	// when not to be read.
	message []mediaRead
}

// keep puts c (with p, what is still to be read into it) in place of
// its message's earlier capture, else at the end. Most messages
// are captured once and a conversation holds few: an earlier capture is
// looked for in out itself, and a map is made only past
// standingScanLimit captures (a map for every conversation was 8 % of
// what a diff of a million messages allocated).
func (st *standing) keep(id string, c diff.Captured, p pending) {
	if i, ok := st.find(id); ok {
		st.out[i], st.toOpen[i], st.message[i] = c, p.open, p.message
		return
	}
	if st.latest != nil {
		st.latest[id] = len(st.out)
	}
	st.out = append(st.out, c)
	st.toOpen = append(st.toOpen, p.open)
	st.message = append(st.message, p.message)
	if st.latest == nil && len(st.out) > standingScanLimit {
		st.latest = make(map[string]int, 2*len(st.out))
		for i := range st.out {
			st.latest[st.out[i].MessageID] = i
		}
	}
}

// standingScanLimit is how many captures standing searches one by one.
const standingScanLimit = 32

// find is the index in out of message id's capture.
func (st *standing) find(id string) (int, bool) {
	if st.latest != nil {
		i, ok := st.latest[id]
		return i, ok
	}
	for i := range st.out {
		if st.out[i].MessageID == id {
			return i, true
		}
	}
	return 0, false
}

// openAll reads the openings the captures of sts still need, and returns
// the index of the first of sts (in order) one of whose openings failed,
// with its first error; len(sts) and nil when none did. A local store's
// openings are read in turn on this goroutine (its callers already run
// on every core); a remote store's (evidence.Parallelism) that many
// at a time, to hide its latency.
func (x *LedgerIndex) openAll(ctx context.Context, sts []*standing) (int, error) {
	type job struct{ st, i int }
	var jobs []job
	for k, st := range sts {
		for i, d := range st.toOpen {
			if d != nil {
				jobs = append(jobs, job{k, i})
			}
		}
	}
	errs := make([]error, len(jobs))
	run := func(j int) {
		st := sts[jobs[j].st]
		i := jobs[j].i
		errs[j] = x.fill(ctx, &st.out[i], st.toOpen[i])
		st.toOpen[i] = nil
	}
	if evidence.Parallelism(x.Evidence) <= 1 || len(jobs) <= 1 {
		for j := range jobs {
			if run(j); errs[j] != nil {
				break // in order: nothing after the first failure is needed
			}
		}
	} else {
		// One limit for every caller at once: the diff's workers each
		// read a batch's openings, and the store's figure is for all of
		// its requests (64 workers × 64 each overran S3's connections).
		sem := x.readSlots()
		var wg sync.WaitGroup
		for j := range jobs {
			if sem.Acquire(ctx, 1) != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer sem.Release(1)
				run(j)
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	for j, err := range errs {
		if err != nil {
			return jobs[j].st, err
		}
	}
	return len(sts), nil
}

// conversation is the latest capture of every message of convID in the
// snapshot, each reduced by reduce (which may leave a v3 opening and the
// message's media to be read: see standing).
func (x *LedgerIndex) conversation(ctx context.Context, convID string, reduce func(leaf.Entry) (diff.Captured, pending, error)) ([]diff.Captured, error) {
	var st standing
	err := x.load(ctx, convID, func(e leaf.Entry) error { // in seq order: a later capture replaces an earlier one
		if x.Matter != "" && e.Matter != x.Matter {
			return nil
		}
		c, p, err := reduce(e)
		if err != nil {
			return err
		}
		st.keep(e.MessageID, c, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := x.openAll(ctx, []*standing{&st}); err != nil {
		return nil, err
	}
	if err := x.readMessageMedia(ctx, []*standing{&st}); err != nil {
		return nil, err
	}
	return st.out, nil
}

// Conversations implements diff.ConversationIndex.
func (x *LedgerIndex) Conversations(ctx context.Context, fn func(convID string) error) error {
	return x.L.ConversationIDs(ctx, fn)
}

// Captures implements diff.ConversationIndex.
func (x *LedgerIndex) Captures(ctx context.Context, seqs []uint64, fn func(diff.Captured) error) error {
	return x.captures(ctx, seqs, nil, fn)
}

// captures reduces the captures at seqs, opening and all, except those
// for which checked is true: their opening was read and checked already,
// and only what the entry gives is returned (Missing).
func (x *LedgerIndex) captures(ctx context.Context, seqs []uint64, checked func(seq uint64) bool, fn func(diff.Captured) error) error {
	if err := x.snapshot(ctx); err != nil {
		return err
	}
	return x.L.EntriesAt(ctx, seqs, func(e leaf.Entry) error {
		if e.Kind != leaf.KindMessage || e.Seq >= x.size || (x.Matter != "" && e.Matter != x.Matter) {
			return fmt.Errorf("reconcile: entry %d is not a capture in this index", e.Seq)
		}
		if checked != nil && checked(e.Seq) {
			return fn(captureBase(&e))
		}
		c, err := x.captured(ctx, e)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

var _ diff.ConversationIndex = (*LedgerIndex)(nil)
