package verify

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// CheckDerived names a leaf field that differs from what its evidence
// gives: the leaf was rewritten (and, if the checkpoints still verify,
// re-signed by someone holding the key).
const CheckDerived = "derived"

// DerivedSummary is what the re-derivation of leaf fields saw.
type DerivedSummary struct {
	// Entries is how many entries had their evidence fields re-derived;
	// ByKind splits it by kind.
	Entries int            `json:"entries"`
	ByKind  map[string]int `json:"by_kind"`
	// Unavailable counts entries of a derivable kind whose own evidence
	// (evidence_sha256, and a v3 message's opening) is erased, could not
	// be read or did not hash to its name (the last two each already an
	// evidence finding): the fields taken from it were not re-derived. A
	// message's or conversation's legal hold and audit references, taken
	// from evidence of their own, are still judged.
	Unavailable int `json:"unavailable"`
	// LegacyAuditRefs counts conversation and message entries whose audit
	// references were not re-derived: written before custody named the
	// audit pages they came from.
	LegacyAuditRefs int `json:"legacy_audit_refs"`
	// KindsWithout lists the kinds seen that take no field from evidence
	// (run, diff, refetch, …), with SkippedEntries their entries.
	KindsWithout   []string `json:"kinds_without_evidence_fields"`
	SkippedEntries int      `json:"skipped_entries"`
}

// String is the one-line summary: "N entries re-derived, M kinds without
// evidence fields".
func (s *DerivedSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d entries re-derived from evidence, %d kinds without evidence fields", s.Entries, len(s.KindsWithout))
	if len(s.KindsWithout) > 0 {
		fmt.Fprintf(&b, " (%s: %d entries)", strings.Join(s.KindsWithout, ", "), s.SkippedEntries)
	}
	if s.Unavailable > 0 {
		fmt.Fprintf(&b, ", %d not re-derived (evidence unreadable, or erased)", s.Unavailable)
	}
	if s.LegacyAuditRefs > 0 {
		fmt.Fprintf(&b, ", %d with audit references from before custody named their pages", s.LegacyAuditRefs)
	}
	return b.String()
}

// Bounds of what deriveCheck keeps between entries. A bulk body holds up
// to 1,000 messages and its messages are consecutive entries, so a few
// bodies at once are enough; the byte budget keeps memory flat whatever
// the ledger's size. The bodies cache is small because what it keeps is
// live heap: at 64 MB it filled with bodies no entry named again, and the
// heap the collector let grow to four times that cost 11 % of verify
// --evidence's CPU in page faults and marking (docs/benchmarks.md,
// "twenty-eighth stop"). The most recent body stays however large.
const (
	deriveCacheBytes = 8 << 20 // decoded evidence bodies
	deriveConvs      = 4096    // conversation objects' message id sets remembered for the messages that follow them
	deriveAuditSets  = 8       // audit indexes (one per export invocation, typically)
)

// deriveUnavailable is how many objects the store did not give (or the
// evidence check handed over as not intact) deriveCheck remembers, most
// recently named first, so as not to ask the store for them again: about
// 150 bytes each, some 10 MB at most however damaged the matter. One
// forgotten is asked for again when an entry names it, and is
// unavailable again (the store's answer, not the memory, decides what is
// derived). A variable for the tests.
var deriveUnavailable = 1 << 16

// deriveCheck re-derives, in the one pass over the entries, every field a
// leaf took from an evidence object, through the same functions export
// builds entries with (internal/derive), and reports each difference.
//
// A message takes its legal hold and audit references from its
// conversation's latest entry before it, which export appends in the same
// transaction just before the conversation's messages — or, for a message
// re-captured later (changed at the source, or its attachments downloaded
// at last) in a conversation that did not change, any number of entries
// earlier. deriveCheck remembers the facts of every conversation's latest
// entry (a few hundred bytes each), and the message ids of recent ones'
// objects (bounded), reading an older one's object again when a message
// needs it: a bounded memory of whole facts (4,096 conversations) made a
// genuine matter fail, "no conversation entry … comes before the
// message", once more than that many conversations lay between.
type deriveCheck struct {
	store  evidence.Store
	pre    *prefetch                 // objects already read and hashed by the evidence check; nil: none
	bodies *lru[hashchain.Hash, any] // decoded bodies: messageBody, map[string]bool (hold), error
	convs  map[string]*convFacts     // by conversation id: its latest entry's facts, without msgIDs
	ids    *lru[string, map[string]bool]
	intern map[string]string // evidence addresses the facts name, one copy each
	audits *lru[string, derive.AuditIndex]
	sum    DerivedSummary
	kinds  map[string]bool // kinds skipped
	detail leaf.Detail     // the current entry's detail, if decoded already
	// listings are the listing pages read, by address: the conversations
	// each names, for runStateWarnings after the pass (ListedCheck.Page),
	// which read and parsed each page again.
	listings map[hashchain.Hash]*listingPage
	// unavailable are the objects the evidence check handed over as not
	// intact, and those read asked the store for and did not get
	// (missing, unreadable or altered): not asked of the store (again)
	// for another entry that names them while remembered (the
	// deriveUnavailable most recently named: only failures fill it, but
	// a huge damaged matter would fill it without end).
	unavailable *lru[hashchain.Hash, struct{}]
}

// decodeDetail is leaf.DecodeDetail(kind, e.Detail) of the current entry,
// decoded once for the evidence check and this one.
func (c *deriveCheck) decodeDetail(kind string, e *leaf.Entry) (leaf.Detail, error) {
	if c.detail != nil && e.Kind == kind && c.detail.Kind() == kind {
		return c.detail, nil
	}
	return leaf.DecodeDetail(kind, e.Detail)
}

// convFacts are what a conversation entry's evidence gives, for the
// messages after it. A nil field was not derivable (its evidence is
// unreadable, or a legacy leaf), and the messages' value is then not
// checked either.
type convFacts struct {
	seq       uint64
	object    hashchain.Hash // the conversation object's evidence
	listed    bool           // the object was read: its message ids are known (ids, or read again)
	held      *bool
	auditRefs []string
	holdSum   string
	auditSums []string
}

// messageBody is a decoded messages response: its messages by id, each
// decoded (and its payload hashed) once for all the entries that name it.
type messageBody map[string]*decodedMessage

type decodedMessage struct {
	id      string
	md      *genesys.MessageData
	payload hashchain.Hash
	err     error
}

func newDeriveCheck(store evidence.Store, pre *prefetch, convMemory int) *deriveCheck {
	if convMemory <= 0 {
		convMemory = deriveConvs
	}
	return &deriveCheck{
		store:  store,
		pre:    pre,
		bodies: newLRU[hashchain.Hash, any](deriveCacheBytes),
		convs:  map[string]*convFacts{},
		ids:    newLRU[string, map[string]bool](int64(convMemory)),
		intern: map[string]string{},
		audits: newLRU[string, derive.AuditIndex](deriveAuditSets),
		sum:    DerivedSummary{ByKind: map[string]int{}},
		kinds:  map[string]bool{},

		listings: map[hashchain.Hash]*listingPage{},

		unavailable: newLRU[hashchain.Hash, struct{}](int64(max(1, deriveUnavailable))),
	}
}

// entry re-derives the evidence fields of e (decoded, with its Seq); d,
// if not nil, is e's detail decoded already (leaf.DecodeDetail).
//
// A message entry's findings may come from rest instead (see message),
// which the caller runs, on any goroutine.
func (c *deriveCheck) entry(ctx context.Context, e *leaf.Entry, d leaf.Detail) (fs []Finding, rest func() []Finding) {
	c.detail = d
	var ok bool
	switch e.Kind {
	case leaf.KindMessage:
		fs, ok, rest = c.message(ctx, e)
	case leaf.KindConversation:
		fs, ok = c.conversation(ctx, e)
	case leaf.KindAudit:
		fs, ok = c.audit(ctx, e)
	case leaf.KindListing:
		fs, ok = c.listing(ctx, e)
	default:
		if !c.kinds[e.Kind] {
			c.kinds[strings.Clone(e.Kind)] = true // e's strings are views of its leaf's batch
		}
		c.sum.SkippedEntries++
		return nil, nil
	}
	if ok {
		c.sum.Entries++
		c.sum.ByKind[e.Kind]++
	} else {
		c.sum.Unavailable++
	}
	return fs, rest
}

func (c *deriveCheck) summary() *DerivedSummary {
	s := c.sum
	for k := range c.kinds {
		s.KindsWithout = append(s.KindsWithout, k)
	}
	sort.Strings(s.KindsWithout)
	return &s
}

// derived reports that the leaf's field differs from the evidence's: from says
// which evidence gave the value.
func derived(seq uint64, field string, leafVal, evVal any, from string) Finding {
	return Finding{Check: CheckDerived, Seq: &seq, pos: 2 * int64(seq),
		Message: fmt.Sprintf("%s: the leaf has %s, the evidence gives %s (%s)", field, show(leafVal), show(evVal), from)}
}

// phrase is a description standing where a value would be ("no such
// message"): show prints it as it is.
type phrase string

// show prints a value as JSON, the way the leaf spells it.
func show(v any) string {
	switch t := v.(type) {
	case phrase:
		return string(t)
	case json.RawMessage:
		if t == nil {
			return "nothing"
		}
		return string(t)
	case hashchain.Hash:
		return t.String()
	case *bool:
		if t == nil {
			return "null"
		}
		return fmt.Sprint(*t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// read returns the evidence object sum, only if it is there and hashes to
// its name: a missing or altered object is the evidence check's finding,
// and deriving from altered bytes would only repeat it.
//
// The store is asked only for an object the evidence check did not hand
// over, and only while that check has not stopped early: once it has (a
// store it could not read, 64 objects in a row), an object it did not
// read is not available, not asked of the store, which on a dead S3 store
// would cost retries for every object left (review-commits7 M3). An
// object the store did not give once is not asked for again while
// remembered (deriveUnavailable).
func (c *deriveCheck) read(ctx context.Context, sum hashchain.Hash) ([]byte, bool) {
	if sum.IsZero() {
		return nil, false
	}
	if f := c.pre.take(sum); f != nil {
		if !f.intact {
			c.gone(sum) // a second entry naming it finds it gone
		}
		return f.data, f.intact
	}
	if c.pre.stopped() {
		return nil, false
	}
	if _, gone := c.unavailable.get(sum); gone {
		return nil, false
	}
	b, err := c.store.Get(ctx, sum)
	if err != nil || hashchain.Hash(sha256.Sum256(b)) != sum {
		if ctx.Err() == nil {
			c.gone(sum)
		}
		return nil, false
	}
	return b, true
}

// gone remembers that sum is unavailable, forgetting the object named
// least recently when the memory is full (deriveUnavailable).
func (c *deriveCheck) gone(sum hashchain.Hash) { c.unavailable.put(sum, struct{}{}, 1) }

// cached returns the decoded form of evidence sum, decoding it at most
// once while it stays in the cache; ok is false when the object is
// unavailable. A body that does not decode is cached as its error.
func (c *deriveCheck) cached(ctx context.Context, sum hashchain.Hash, kind bodyKind) (any, error, bool) {
	if v, ok := c.bodies.get(sum); ok {
		if err, isErr := v.(error); isErr {
			return nil, err, true
		}
		return v, nil, true
	}
	var b []byte
	var v any
	var err error
	if f := c.pre.take(sum); f != nil {
		// Read, hashed and (for its kind) decoded by the evidence check.
		if !f.intact {
			c.gone(sum)
			return nil, nil, false
		}
		b = f.data
		if f.kind == kind {
			v, err = f.val, f.err
		} else {
			v, err = kind.decode(b, decodeWorkers())
		}
	} else {
		var ok bool
		if b, ok = c.read(ctx, sum); !ok {
			return nil, nil, false
		}
		v, err = kind.decode(b, decodeWorkers())
	}
	if err != nil {
		c.bodies.put(sum, err, 64)
		return nil, err, true
	}
	// Decoded, a body takes about three times its size: the body itself
	// (a messages body's strings are views of it: derive.DecodeMessagesIn)
	// and what was decoded.
	c.bodies.put(sum, v, 3*int64(len(b))+64)
	return v, nil, true
}

// cachedOnce is cached for an object read once (a conversation's own
// object): decoded by the worker that hashed it when it could, and not
// kept.
func (c *deriveCheck) cachedOnce(ctx context.Context, sum hashchain.Hash, kind bodyKind) (any, error, bool) {
	if f := c.pre.take(sum); f != nil {
		if !f.intact {
			c.gone(sum)
			return nil, nil, false
		}
		if f.kind == kind {
			return f.val, f.err, true
		}
		v, err := kind.decode(f.data, decodeWorkers())
		return v, err, true
	}
	b, ok := c.read(ctx, sum)
	if !ok {
		return nil, nil, false
	}
	v, err := kind.decode(b, decodeWorkers())
	return v, err, true
}

// readConversation is derive.ReadConversation's result.
type readConversation struct {
	facts derive.ConversationFacts
	ids   []string
	err   error
}

func decodeConversation(b []byte) (any, error) {
	f, ids, err := derive.ReadConversation(b)
	return readConversation{f, ids, err}, nil
}

// decodeMessages decodes a messages response on workers goroutines.
func decodeMessages(b []byte, workers int) (any, error) {
	if workers <= 1 {
		// On the calling goroutine (a hashing worker, whose stack has
		// grown already: a new goroutine's would grow again), split and
		// decoded in one scan.
		list, err := derive.DecodeMessagesIn(b)
		if err != nil {
			return nil, err
		}
		out, slab := make([]*decodedMessage, len(list)), make([]decodedMessage, len(list))
		for i := range list {
			out[i] = &slab[i] // one allocation a body, not one a message
			decodedOf(out[i], &list[i])
		}
		return indexMessages(out), nil
	}
	list, err := derive.MessagesIn(b)
	if err != nil {
		return nil, err
	}
	// Decoding and canonicalising the messages is most of re-derivation's
	// cost, and each message is independent: spread a body's messages over
	// the processors (a bulk body holds up to 1,000).
	out := make([]*decodedMessage, len(list))
	workers = max(1, min(workers, (len(list)+3)/4))
	if workers == 1 {
		for i, raw := range list {
			out[i] = decodeMessage(raw)
		}
		return indexMessages(out), nil
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(list); i += workers {
				out[i] = decodeMessage(list[i])
			}
		})
	}
	wg.Wait()
	return indexMessages(out), nil
}

// indexMessages is a body's decoded messages by id, the first of an id.
func indexMessages(out []*decodedMessage) messageBody {
	m := make(messageBody, len(out))
	for _, dm := range out {
		if _, dup := m[dm.id]; dm.id != "" && !dup {
			m[dm.id] = dm
		}
	}
	return m
}

// decodeMessage decodes one message of a body; a message that does not
// decode keeps its error under its id, if it has one, for the leaf that
// names it.
func decodeMessage(raw []byte) *decodedMessage {
	md, payload, err := derive.DecodeMessage(raw)
	dm := new(decodedMessage)
	decodedOf(dm, &derive.Decoded{Raw: raw, MD: md, Payload: payload, Err: err})
	return dm
}

// decodedOf writes into dm decodeMessage's answer on a message derive
// has decoded.
func decodedOf(dm *decodedMessage, d *derive.Decoded) {
	if d.Err == nil {
		*dm = decodedMessage{id: d.MD.ID, md: d.MD, payload: d.Payload}
		return
	}
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(d.Raw, &v) // no id: no leaf can name it
	*dm = decodedMessage{id: v.ID, err: d.Err}
}

func decodeHold(b []byte) (any, error) { return derive.ReadHold(b) }

// message re-derives a message entry through derive.Message.
//
// The first part, which reads evidence and the state the entries before
// it left (the conversation's facts), runs in ledger order; the rest, pure
// computation on what it gathered (most of the cost), is returned as
// rest, which may run on another goroutine, beside other messages'. With
// rest, the entry's findings are what rest returns (out included).
func (c *deriveCheck) message(ctx context.Context, e *leaf.Entry) ([]Finding, bool, func() []Finding) {
	seq := e.Seq
	ev := func() string { return "message in evidence " + e.EvidenceSHA256.String() } // only for a finding
	v, err, ok := c.cached(ctx, e.EvidenceSHA256, messagesBody)
	if !ok {
		// The body is erased, or missing (the evidence check's finding):
		// what the conversation's evidence gives is judged all the same.
		cf, out := c.fromConversation(ctx, e)
		return append(out, withoutBody(e, cf)...), false, nil
	}
	if err != nil {
		return []Finding{derived(seq, "message_id", e.MessageID, phrase("no message"), fmt.Sprintf("evidence %s is not a messages response: %v", e.EvidenceSHA256, err))}, true, nil
	}
	dm, found := v.(messageBody)[e.MessageID]
	if !found {
		return []Finding{derived(seq, "message_id", e.MessageID, phrase("no such message"), "evidence "+e.EvidenceSHA256.String()+" holds no message with that id")}, true, nil
	}
	if dm.err != nil {
		return []Finding{derived(seq, "payload_sha256", e.PayloadSHA256, phrase("no RFC 8785 form"), fmt.Sprintf("%s: %v", ev(), dm.err))}, true, nil
	}
	md, payload := dm.md, dm.payload
	var out []Finding
	if md.ConversationID != "" && md.ConversationID != e.ConversationID {
		out = append(out, derived(seq, "conversation_id", e.ConversationID, md.ConversationID, ev()))
	}
	cf, fs := c.fromConversation(ctx, e)
	out = append(out, fs...)
	// Media bytes are evidence of their own (re-hashed by the evidence
	// check); what the message gives is which attachments, checked below.
	var media []leaf.MediaRef
	var op *openingRead
	if dd, err := c.decodeDetail(leaf.KindMessage, e); err == nil {
		d := dd.(*leaf.MessageDetail)
		media = d.Media
		if d.Salted() {
			// v3: the commitments are re-derived under the salt of the
			// opening the detail names; without it (erased, or missing:
			// the evidence check's finding) they cannot be, and the
			// message is judged as one without its body.
			if op = c.readOpening(ctx, d); op == nil {
				return append(out, withoutBody(e, cf)...), false, nil
			}
		}
	}
	return out, true, func() []Finding {
		return messageRest(e, md, payload, cf.lc, cf.held, cf.refs, cf.from, media, op, out)
	}
}

// convGiven is what a message entry takes from its conversation entry's
// evidence: its legal hold and audit references, each the leaf's own
// where that evidence cannot give it (so that it compares equal and only
// what is derivable is judged), and from where.
type convGiven struct {
	lc   *leaf.Compliance // the leaf's, never nil
	held *bool
	refs []string
	from sources // where held and refs came from, spelt out only for a finding
}

// fromConversation looks up the conversation entry before message entry
// e (the latest of its conversation_id): a finding when there is none,
// or when its conversation object does not list the message, and what
// its evidence gives. It needs nothing of the message's own evidence.
func (c *deriveCheck) fromConversation(ctx context.Context, e *leaf.Entry) (convGiven, []Finding) {
	seq := e.Seq
	var out []Finding
	conv, known := c.convs[e.ConversationID]
	var msgIDs map[string]bool
	if known && conv.listed {
		msgIDs = c.conversationIDs(ctx, e.ConversationID, conv)
	}
	switch {
	case !known:
		out = append(out, Finding{Check: CheckDerived, Seq: &seq, pos: 2 * int64(seq),
			Message: fmt.Sprintf("conversation_id: no conversation entry of %q comes before the message, so its legal hold and audit references have no evidence", e.ConversationID)})
	case msgIDs != nil && !msgIDs[e.MessageID]:
		out = append(out, Finding{Check: CheckDerived, Seq: &seq, pos: 2 * int64(seq),
			Message: fmt.Sprintf("conversation_id: the leaf has %q, but that conversation's object (entry %d) does not list message %q", e.ConversationID, conv.seq, e.MessageID)})
	}
	cf := convGiven{lc: e.Compliance}
	if cf.lc == nil {
		cf.lc = &leaf.Compliance{}
	}
	cf.held, cf.refs = cf.lc.LegalHold, cf.lc.AuditRefs
	if known && conv.held != nil {
		cf.held, cf.from.hold = conv.held, conv
	}
	if known && conv.auditRefs != nil {
		cf.refs, cf.from.audit = conv.auditRefs, conv
	} else if known && conv.auditSums == nil {
		c.sum.LegacyAuditRefs++ // its conversation's leaf names no audit pages
	}
	return cf, out
}

// conversationIDs returns the message ids of conv's object (conversation
// id), from memory or, for a conversation whose entry lies further back
// than memory reaches, read again from the evidence (re-hashed); nil when
// the object is no longer there (erased since: then nothing is judged by
// it, as for an object never read).
func (c *deriveCheck) conversationIDs(ctx context.Context, id string, conv *convFacts) map[string]bool {
	if ids, ok := c.ids.get(id); ok && ids != nil {
		return ids
	}
	v, _, there := c.cachedOnce(ctx, conv.object, conversationBody)
	if !there {
		return nil
	}
	rc := v.(readConversation)
	if rc.err != nil {
		return nil
	}
	ids := idSet(rc.ids)
	c.ids.put(strings.Clone(id), ids, 1)
	return ids
}

func idSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// internString returns one copy of s for every equal s (the evidence
// addresses many conversations' facts share: a hold answer covers 100
// conversations, an audit query a run's), not a view of a leaf.
func (c *deriveCheck) internString(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := c.intern[s]; ok {
		return v
	}
	v := strings.Clone(s)
	c.intern[v] = v
	return v
}

// withoutBody judges a message entry whose own evidence (its response
// body, or a v3 message's opening) is unavailable — erased (the other
// messages of a conversation one of whose messages was erased lose their
// body too), or missing: what its conversation entry's evidence gives,
// which is still there (the legal hold and audit references), and the
// members of its detail, of which no evidence gives any but those
// derivation writes.
func withoutBody(e *leaf.Entry, cf convGiven) []Finding {
	var out []Finding
	if !sameBool(cf.lc.LegalHold, cf.held) {
		out = append(out, derived(e.Seq, "compliance.legal_hold", cf.lc.LegalHold, cf.held, cf.from.holdFrom()))
	}
	if !slices.Equal(nonNilStrings(cf.lc.AuditRefs), nonNilStrings(cf.refs)) {
		out = append(out, derived(e.Seq, "compliance.audit_refs", nonNilStrings(cf.lc.AuditRefs), nonNilStrings(cf.refs), cf.from.auditFrom()))
	}
	return append(out, detailMembers(e)...)
}

// detailMembers reports the members of a message entry's detail that no
// message detail of its version has as derivation writes it
// (leaf.MessageDetailMembers), and those every one has that it lacks:
// judged from the detail alone, for an entry whose evidence is not there
// to derive the detail from.
func detailMembers(e *leaf.Entry) []Finding {
	var d map[string]json.RawMessage
	if json.Unmarshal(orEmpty(e.Detail), &d) != nil {
		return nil // the strict check's finding
	}
	always, whenSet := leaf.MessageDetailMembers(e.Version())
	from := fmt.Sprintf("no v%d message detail derived from evidence has it", e.Version())
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(d)) {
		if !slices.Contains(always, k) && !slices.Contains(whenSet, k) {
			out = append(out, derived(e.Seq, "detail."+k, d[k], phrase("nothing"), from))
		}
	}
	for _, k := range always {
		if _, ok := d[k]; !ok {
			out = append(out, derived(e.Seq, "detail."+k, json.RawMessage(nil), phrase("a value"),
				fmt.Sprintf("every v%d message detail derived from evidence has it", e.Version())))
		}
	}
	var media []map[string]json.RawMessage
	if json.Unmarshal(d["media"], &media) != nil {
		return out
	}
	for i, m := range media {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !leaf.IsMediaRefMember(k) {
				out = append(out, derived(e.Seq, fmt.Sprintf("detail.media[%d].%s", i, k), m[k], phrase("nothing"), "no attachment of a message detail has it"))
			}
		}
	}
	return out
}

// messageRest is the pure part of message: the opening's fields checked,
// the entry derived and compared.
func messageRest(e *leaf.Entry, md *genesys.MessageData, payload hashchain.Hash, lc *leaf.Compliance, held *bool, refs []string,
	from sources, media []leaf.MediaRef, op *openingRead, out []Finding) []Finding {
	// The detail derived once, for the opening's check and the entry, on
	// the stack: the reference path takes a copy, which it changes.
	var d leaf.MessageDetail
	derive.MessageDetailInto(&d, md, media)
	if messageAgrees(e, md, &d, payload, lc, held, refs, media, op) {
		return out
	}
	dd := d
	return messageDerived(e, md, &dd, payload, lc, held, refs, from, media, op, out)
}

// messageDerived is messageRest's reference path: the entry derived
// through derive.MessageFrom from d = derive.MessageDetail(md, media)
// (which it changes) and compared, each difference a finding.
func messageDerived(e *leaf.Entry, md *genesys.MessageData, d *leaf.MessageDetail, payload hashchain.Hash, lc *leaf.Compliance, held *bool, refs []string,
	from sources, media []leaf.MediaRef, op *openingRead, out []Finding) []Finding {
	seq := e.Seq
	ev := func() string { return "message in evidence " + e.EvidenceSHA256.String() } // only for a finding
	var seal *derive.Seal
	if op != nil {
		var fs []Finding
		seal, fs = op.check(e, md, d)
		out = append(out, fs...)
		if seal == nil {
			return out
		}
	}
	h := false
	if held != nil {
		h = *held
	}
	want, err := derive.MessageFrom(e.ConversationID, md, d, payload, h, refs, seal)
	if err != nil {
		return append(out, derived(seq, "detail", "", phrase("nothing"), err.Error()))
	}
	if held == nil {
		want.Compliance.LegalHold = nil
	}
	if e.MessageID != want.MessageID {
		out = append(out, derived(seq, "message_id", e.MessageID, want.MessageID, ev()))
	}
	if e.PayloadSHA256 != want.PayloadSHA256 {
		out = append(out, derived(seq, "payload_sha256", e.PayloadSHA256, want.PayloadSHA256, "RFC 8785 hash of the "+ev()))
	}
	wc := want.Compliance
	if !sameBool(lc.LegalHold, wc.LegalHold) {
		out = append(out, derived(seq, "compliance.legal_hold", lc.LegalHold, wc.LegalHold, from.holdFrom()))
	}
	if !slices.Equal(nonNilStrings(lc.AuditRefs), wc.AuditRefs) {
		out = append(out, derived(seq, "compliance.audit_refs", nonNilStrings(lc.AuditRefs), wc.AuditRefs, from.auditFrom()))
	}
	if lc.OriginalTimestamp != wc.OriginalTimestamp {
		out = append(out, derived(seq, "compliance.original_timestamp", lc.OriginalTimestamp, wc.OriginalTimestamp, ev()))
	}
	out = append(out, compareDetail(seq, e.Detail, want.Detail, ev)...)
	if len(media) > 0 {
		var ids []string
		for _, m := range media {
			ids = append(ids, m.ID)
			if !strings.EqualFold(m.SHA256, m.Evidence) {
				out = append(out, derived(seq, "detail.media.sha256", m.SHA256, m.Evidence, "the SHA-256 of the downloaded bytes is their evidence address"))
			}
		}
		// Attachments, then template header media; or, in a detail
		// written before export downloaded header media, the
		// attachments alone (derive.MediaMatch).
		if !derive.MediaMatch(md, ids) {
			want, from := derive.Attachments(md), "attachment ids of the "+ev()
			if hm := derive.HeaderMedia(md); len(hm) > 0 {
				want = append(want, hm...)
				from = "attachment ids, then template header media ids, of the " + ev() + "; a capture from before custody downloaded header media may list the attachments alone"
			}
			out = append(out, derived(seq, "detail.media", ids, want, from))
		}
	}
	return out
}

// messageAgrees reports whether messageRest's reference path, from
// d = derive.MessageDetail(md, media), would find nothing: every value
// compared as derived, the opening read and the detail written without
// building the derived entry (leaf.MessageDetail.SealedIs), which was
// most of re-derivation's cost left to verify (issue 16). False is "not
// sure": the reference path then says what differs. d is not changed.
// TestMessageAgrees and FuzzMessageAgrees hold it to the reference.
func messageAgrees(e *leaf.Entry, md *genesys.MessageData, d *leaf.MessageDetail, payload hashchain.Hash, lc *leaf.Compliance, held *bool, refs []string,
	media []leaf.MediaRef, op *openingRead) bool {
	// derive.MessageFrom's entry: md.ID, payload, md.Timestamp, the legal
	// hold (nil when held is), refs ([] for nil: slices.Equal does not
	// tell them apart).
	if e.MessageID != md.ID || e.PayloadSHA256 != payload || lc.OriginalTimestamp != md.Timestamp ||
		!sameBool(lc.LegalHold, held) || !slices.Equal(lc.AuditRefs, refs) {
		return false
	}
	if len(media) > 0 {
		ids := make([]string, 0, len(media))
		for _, m := range media {
			if !strings.EqualFold(m.SHA256, m.Evidence) {
				return false
			}
			ids = append(ids, m.ID)
		}
		if !derive.MediaMatch(md, ids) {
			return false
		}
	}
	if op == nil {
		return d.EncodedIs(e.Detail)
	}
	return d.SealedIs(e.Detail, e.MessageID, op.bytes, op.sum)
}

// sources names the conversation entries a message's legal hold and
// audit references were derived from (nil: taken from the leaf).
type sources struct{ hold, audit *convFacts }

func (s sources) holdFrom() string {
	if s.hold == nil {
		return ""
	}
	return fmt.Sprintf("deletion-protection response %s, named by entry %d", s.hold.holdSum, s.hold.seq)
}

func (s sources) auditFrom() string {
	if s.audit == nil {
		return ""
	}
	return fmt.Sprintf("audit pages %s, named by entry %d", strings.Join(s.audit.auditSums, ", "), s.audit.seq)
}

// openingRead is the opening a v3 message detail names, read.
type openingRead struct {
	sum   hashchain.Hash
	name  string // as the detail spells it
	bytes []byte
}

// readOpening reads the opening a v3 message detail names: nil when it
// is unavailable (erased, or missing: the evidence check's finding).
func (c *deriveCheck) readOpening(ctx context.Context, d *leaf.MessageDetail) *openingRead {
	sum, err := hashchain.ParseHash(d.OpeningEvidence)
	if err != nil {
		return nil
	}
	b, ok := c.read(ctx, sum)
	if !ok {
		return nil
	}
	return &openingRead{sum: sum, name: d.OpeningEvidence, bytes: b}
}

// check returns the seal to re-derive the commitments with: nil, with a
// finding, when the object is not an opening of this message. An opening
// whose field values are not the ones the message gives is a finding too
// (the diff reads them).
func (op *openingRead) check(e *leaf.Entry, md *genesys.MessageData, want *leaf.MessageDetail) (*derive.Seal, []Finding) {
	seq := e.Seq
	o, err := leaf.ReadOpening(op.bytes)
	if err != nil {
		return nil, []Finding{derived(seq, "detail.opening_evidence_sha256", op.name, phrase("no opening"), err.Error())}
	}
	if o.MessageID != e.MessageID {
		return nil, []Finding{derived(seq, "detail.opening_evidence_sha256", e.MessageID, o.MessageID, "opening "+op.name+" is of another message")}
	}
	// The opening is derive.Opening(md, o.Salt) when its stored bytes are
	// that opening's Encode(). ReadOpening took them only in Encode's form
	// (of o), its message id is md's (checked above) and the salt is o's,
	// so the bytes are equal exactly when the field values are: compared
	// as values, without encoding the derived opening.
	// want is derive.MessageDetail(md, media): its four personal values
	// are the ones derive.Opening takes (media is not among them).
	var out []Finding
	if wf := [...]string{want.ContentSHA256, want.From, want.ProviderMessageID, want.To}; o.Fields[leaf.PersonalFields[0]] != wf[0] ||
		o.Fields[leaf.PersonalFields[1]] != wf[1] || o.Fields[leaf.PersonalFields[2]] != wf[2] || o.Fields[leaf.PersonalFields[3]] != wf[3] {
		want := derive.Opening(md, o.Salt)
		for _, f := range leaf.PersonalFields {
			if o.Fields[f] != want.Fields[f] {
				out = append(out, derived(seq, "opening."+f, o.Fields[f], want.Fields[f], "message in evidence "+e.EvidenceSHA256.String()))
			}
		}
	}
	return &derive.Seal{Salt: o.Salt, Opening: op.sum}, out
}

// compareDetail compares two details member by member (the union of
// their members, so one present on one side only is a difference too).
// from says where want came from, asked only for a finding.
func compareDetail(seq uint64, got, want json.RawMessage, from func() string) []Finding {
	// The leaf's detail is in RFC 8785 form: when the derived one's is the
	// same bytes, there is nothing to compare member by member. (Equal
	// bytes compare equal member by member too, canonical or not: the
	// usual case costs no canonicalisation.)
	if bytes.Equal(got, want) {
		return nil
	}
	if cw, err := leaf.CanonicalDetail(want); err == nil && bytes.Equal(got, cw) {
		return nil
	}
	var g, w map[string]json.RawMessage
	if err := json.Unmarshal(orEmpty(got), &g); err != nil {
		return []Finding{derived(seq, "detail", got, want, from())}
	}
	if err := json.Unmarshal(orEmpty(want), &w); err != nil {
		return []Finding{derived(seq, "detail", got, want, from())}
	}
	keys := map[string]bool{}
	for k := range g {
		keys[k] = true
	}
	for k := range w {
		keys[k] = true
	}
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		gv, wv := g[k], w[k]
		if gv == nil || wv == nil || !sameJSON(gv, wv) {
			out = append(out, derived(seq, "detail."+k, gv, wv, from()))
		}
	}
	return out
}

// sameJSON compares two JSON values by their RFC 8785 form.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, err1 := hashchain.CanonicalJSON(a)
	cb, err2 := hashchain.CanonicalJSON(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca, cb)
}

func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// conversation re-derives a conversation entry's facts
// (derive.ConversationFacts, what derive.Conversation writes into the
// entry) and remembers them for its messages.
func (c *deriveCheck) conversation(ctx context.Context, e *leaf.Entry) ([]Finding, bool) {
	seq := e.Seq
	facts := &convFacts{seq: seq, object: e.EvidenceSHA256}
	// A copy: e's strings are views of the leaf it was read from, which a
	// remembered key would keep alive.
	id := strings.Clone(e.ConversationID)
	c.convs[id] = facts
	c.ids.put(id, nil, 1) // the ids of an earlier entry's object are not this one's
	dd, err := c.decodeDetail(leaf.KindConversation, e)
	if err != nil {
		return []Finding{derived(seq, "detail", e.Detail, phrase("a conversation detail"), err.Error())}, true
	}
	d := dd.(*leaf.ConversationDetail)
	facts.holdSum = c.internString(d.HoldEvidenceSHA256)
	if d.AuditEvidenceSHA256 != nil {
		facts.auditSums = make([]string, len(d.AuditEvidenceSHA256))
		for i, a := range d.AuditEvidenceSHA256 {
			facts.auditSums[i] = c.internString(a)
		}
	}
	ev := "conversation object in evidence " + e.EvidenceSHA256.String()

	// What is not derivable is taken from the leaf (it then compares
	// equal); ok says whether anything was derived at all, own whether
	// the entry's own evidence (the conversation object) was there: an
	// entry whose object is erased or missing counts as not re-derived,
	// though its legal hold and audit references, from evidence of their
	// own, are still judged.
	want := derive.ConversationFacts{ID: e.ConversationID, Payload: e.PayloadSHA256, Messages: d.Messages, Held: d.LegalHold, AuditRefs: d.AuditRefs}
	ok, own := false, false
	if v, _, there := c.cachedOnce(ctx, e.EvidenceSHA256, conversationBody); there {
		rc := v.(readConversation)
		f, ids, err := rc.facts, rc.ids, rc.err
		if err != nil {
			return []Finding{derived(seq, "payload_sha256", e.PayloadSHA256, phrase("no conversation object"), fmt.Sprintf("%s: %v", ev, err))}, true
		}
		want.ID, want.Payload, want.Messages = f.ID, f.Payload, f.Messages
		facts.listed = true
		c.ids.put(id, idSet(ids), 1)
		ok, own = true, true
	}
	var out []Finding
	holdFrom := "deletion-protection response " + d.HoldEvidenceSHA256
	if sum, err := hashchain.ParseHash(d.HoldEvidenceSHA256); err == nil {
		if v, derr, there := c.cached(ctx, sum, holdBody); there {
			if derr != nil {
				out = append(out, derived(seq, "detail.legal_hold", d.LegalHold, phrase("nothing"), fmt.Sprintf("%s: %v", holdFrom, derr)))
			} else {
				// The conversation asked about is the one the leaf
				// names; its object's id is checked on its own below.
				h := v.(map[string]bool)[e.ConversationID]
				want.Held, facts.held, ok = h, &h, true
			}
		}
	}
	auditFrom := "audit pages " + strings.Join(d.AuditEvidenceSHA256, ", ")
	switch {
	case d.AuditEvidenceSHA256 == nil && len(d.AuditRefs) > 0:
		c.sum.LegacyAuditRefs++ // written before custody named the pages
	case d.AuditEvidenceSHA256 == nil:
		// No pages and no references: nothing was drawn from the trail.
		facts.auditRefs, want.AuditRefs = []string{}, []string{}
	default:
		idx, err, there := c.auditIndex(ctx, d.AuditEvidenceSHA256)
		switch {
		case err != nil:
			out = append(out, derived(seq, "detail.audit_refs", d.AuditRefs, phrase("nothing"), fmt.Sprintf("%s: %v", auditFrom, err)))
		case there:
			refs := idx.Refs(e.ConversationID)
			want.AuditRefs, facts.auditRefs, ok = refs, refs, true
		}
	}
	if !ok {
		return out, false
	}
	if e.ConversationID != want.ID {
		out = append(out, derived(seq, "conversation_id", e.ConversationID, want.ID, ev))
	}
	if e.PayloadSHA256 != want.Payload {
		out = append(out, derived(seq, "payload_sha256", e.PayloadSHA256, want.Payload, "RFC 8785 hash of the "+ev))
	}
	if d.LegalHold != want.Held {
		out = append(out, derived(seq, "detail.legal_hold", d.LegalHold, want.Held, holdFrom))
	}
	if !slices.Equal(nonNilStrings(d.AuditRefs), nonNilStrings(want.AuditRefs)) {
		out = append(out, derived(seq, "detail.audit_refs", nonNilStrings(d.AuditRefs), want.AuditRefs, auditFrom))
	}
	if d.Messages != want.Messages {
		out = append(out, derived(seq, "detail.messages", d.Messages, want.Messages, "distinct message ids of the "+ev))
	}
	return out, own
}

// auditIndex returns the index over the audit pages sums (cached per set:
// every conversation of an export invocation names the same pages).
func (c *deriveCheck) auditIndex(ctx context.Context, sums []string) (derive.AuditIndex, error, bool) {
	key := strings.Join(sums, ",")
	if idx, ok := c.audits.get(key); ok {
		return idx, nil, true
	}
	idx := derive.AuditIndex{}
	for _, s := range sums {
		sum, err := hashchain.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("audit evidence %q is not a SHA-256", s), true
		}
		b, ok := c.read(ctx, sum)
		if !ok {
			return nil, nil, false
		}
		p, err := derive.ReadAuditPage(b)
		if err != nil {
			return nil, err, true
		}
		idx.Add(p)
	}
	c.audits.put(key, idx, 1)
	return idx, nil, true
}

// audit re-derives an audit entry: the number of records on its page.
func (c *deriveCheck) audit(ctx context.Context, e *leaf.Entry) ([]Finding, bool) {
	b, ok := c.read(ctx, e.EvidenceSHA256)
	if !ok {
		return nil, false
	}
	dd, err := c.decodeDetail(leaf.KindAudit, e)
	if err != nil {
		return []Finding{derived(e.Seq, "detail", e.Detail, phrase("an audit detail"), err.Error())}, true
	}
	from := "audit page in evidence " + e.EvidenceSHA256.String()
	p, err := derive.ReadAuditPage(b)
	if err != nil {
		return []Finding{derived(e.Seq, "detail.entries", dd.(*leaf.AuditDetail).Entries, phrase("nothing"), fmt.Sprintf("%s: %v", from, err))}, true
	}
	if got, want := dd.(*leaf.AuditDetail).Entries, derive.Audit(p); got != want {
		return []Finding{derived(e.Seq, "detail.entries", got, want, from)}, true
	}
	return nil, true
}

// listingPage is a listing page decoded (on the worker that hashed it):
// the number of conversations on it (derive.Listing), for the derive
// check, and their ids (derive.ListingIDs), for runStateWarnings.
type listingPage struct {
	count    int
	countErr error
	ids      []string
	idsErr   error
}

func decodeListing(b []byte) *listingPage {
	p := &listingPage{}
	p.count, p.countErr = derive.Listing(b)
	p.ids, p.idsErr = derive.ListingIDs(b)
	return p
}

// listing re-derives a listing entry: the number of conversations on its
// page.
func (c *deriveCheck) listing(ctx context.Context, e *leaf.Entry) ([]Finding, bool) {
	v, _, ok := c.cachedOnce(ctx, e.EvidenceSHA256, listingBody)
	if !ok {
		return nil, false
	}
	page := v.(*listingPage)
	c.listings[e.EvidenceSHA256] = page
	dd, err := c.decodeDetail(leaf.KindListing, e)
	if err != nil {
		return []Finding{derived(e.Seq, "detail", e.Detail, phrase("a listing detail"), err.Error())}, true
	}
	from := "listing page in evidence " + e.EvidenceSHA256.String()
	got := dd.(*leaf.ListingDetail).Conversations
	want, err := page.count, page.countErr
	if err != nil {
		return []Finding{derived(e.Seq, "detail.conversations", got, phrase("nothing"), fmt.Sprintf("%s: %v", from, err))}, true
	}
	if got != want {
		return []Finding{derived(e.Seq, "detail.conversations", got, want, from)}, true
	}
	return nil, true
}

// lru is a map that forgets its least recently used entries once the
// costs of what it holds exceed its budget (at least one entry is kept).
type lru[K comparable, V any] struct {
	budget, used int64
	order        *list.List // front: most recent; elements hold *lruItem
	items        map[K]*list.Element
}

type lruItem[K comparable, V any] struct {
	key  K
	val  V
	cost int64
}

func newLRU[K comparable, V any](budget int64) *lru[K, V] {
	return &lru[K, V]{budget: budget, order: list.New(), items: map[K]*list.Element{}}
}

func (l *lru[K, V]) get(k K) (V, bool) {
	if el, ok := l.items[k]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*lruItem[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (l *lru[K, V]) put(k K, v V, cost int64) {
	if el, ok := l.items[k]; ok {
		it := el.Value.(*lruItem[K, V])
		l.used += cost - it.cost
		it.val, it.cost = v, cost
		l.order.MoveToFront(el)
	} else {
		l.items[k] = l.order.PushFront(&lruItem[K, V]{key: k, val: v, cost: cost})
		l.used += cost
	}
	for l.used > l.budget && l.order.Len() > 1 {
		el := l.order.Back()
		it := el.Value.(*lruItem[K, V])
		l.order.Remove(el)
		delete(l.items, it.key)
		l.used -= it.cost
	}
}
