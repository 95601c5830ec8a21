package diff

import (
	"context"
	"math/bits"
	"slices"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/genesys"
)

// Captured is what custody captured of one message: the ledger's record,
// reduced to the compared fields.
type Captured struct {
	ConversationID string
	MessageID      string
	// Timestamp is the original timestamp, RFC 3339 with milliseconds.
	Timestamp string
	// ContentSHA256 is ContentHash of the message text.
	ContentSHA256 string
	// Sender is the sender's address as captured (MessageData.fromAddress).
	Sender string
	// LegalHold is nil when the capture did not record it.
	LegalHold *bool
	// AuditRefs are the audit trail entries referring to the message's
	// conversation.
	AuditRefs []string
	// Erased: the capture's personal fields were erased (custody erase,
	// ledger format v3): ContentSHA256 and Sender are empty and not
	// compared, and an exported copy of the message is an erased finding.
	// ErasedBy is the erasure entry's seq, when the index knows it.
	Erased   bool
	ErasedBy uint64
	// Seq identifies the capture; unique per message among those Each
	// yields, and small (the diff keeps one bit per Seq up to the largest).
	Seq uint64
	// Sensitive: the captured text holds a payment card number
	// (genesys.HasPaymentCard), which makes sensitive_data_excluded the
	// likely cause when the export lacks the conversation. An index that
	// keeps only content hashes (the ledger's) leaves it false.
	Sensitive bool
	// HeaderMedia is the id of the media of the captured message's
	// WhatsApp template header (genesys.TemplateHeaderMedia, with or
	// without a url), "" for none. HeaderMediaKnown says the index knows
	// it; when it does not, the export's template header media is not
	// compared. It comes from the captured message itself, not from what
	// custody downloaded: a message captured with --media=false, or
	// whose url had expired, still names its template's header media.
	// The ledger keeps it in the message's evidence (its entry's
	// detail.media lists only the media custody fetched, and not which
	// is the header's), so its index knows it while that evidence is
	// stored, as it knows Attachments.
	HeaderMedia      string
	HeaderMediaKnown bool
	// Attachments are the ids of the captured message's attachments
	// (genesys.AttachmentIDs: normalizedMessage.content[].attachment,
	// with or without a url) in the comparable form of a set,
	// exportfile.JoinIDs; "" for none. AttachmentsKnown says the index
	// knows them; when it does not, the export's attachments are not
	// compared. They come from the captured message itself, not from
	// what custody downloaded: a message captured with --media=false, or
	// whose attachment urls had expired, still names its attachments.
	// The ledger keeps them in the message's evidence (its entry's
	// detail.media lists only the media custody fetched), so its index
	// knows them while that evidence is stored.
	Attachments      string
	AttachmentsKnown bool
}

// CaptureOf reduces a captured message to what the diff compares, so that
// every caller hashes and formats the same way. legalHold and auditRefs are
// its conversation's, as custody captured them. Its template header media
// (genesys.TemplateHeaderMedia) and its attachments (AttachmentsOf) are
// always known, with or without urls, as the ledger's index knows them
// from the captured message.
func CaptureOf(m *genesys.MessageData, convID string, legalHold *bool, auditRefs []string, seq uint64) Captured {
	ts := m.Timestamp
	if t, _, err := genesys.ParseTimestamp(ts); err == nil {
		ts = genesys.FormatMillis(t)
	}
	if convID == "" {
		convID = m.ConversationID
	}
	text := genesys.MessageText(m)
	c := Captured{
		ConversationID: convID, MessageID: m.ID, Timestamp: ts,
		ContentSHA256: genesys.ContentHash(text), Sender: m.FromAddress,
		LegalHold: legalHold, AuditRefs: auditRefs, Seq: seq, Sensitive: genesys.HasPaymentCard(text),
		HeaderMediaKnown: true,
		Attachments:      AttachmentsOf(m), AttachmentsKnown: true,
	}
	if a := genesys.TemplateHeaderMedia(m); a != nil {
		c.HeaderMedia = a.ID
	}
	return c
}

// AttachmentsOf is Captured.Attachments of m: the ids of its attachments
// as the set the diff compares.
func AttachmentsOf(m *genesys.MessageData) string {
	return AttachmentSet(genesys.AttachmentIDs(m))
}

// AttachmentSet is Captured.Attachments of a message whose attachments'
// ids are ids (genesys.AttachmentIDs): the set the diff compares.
func AttachmentSet(ids []string) string {
	return exportfile.JoinIDs(ids)
}

// Index is what custody captured. Lookup and Each are called from one
// goroutine at a time.
type Index interface {
	// Lookup returns the latest capture of a message.
	Lookup(ctx context.Context, convID, msgID string) (Captured, bool, error)
	// Each calls fn for every captured message once (its latest capture),
	// in a deterministic order; an error from fn stops it and is returned.
	Each(ctx context.Context, fn func(Captured) error) error
}

// SensitiveIndex is an Index that can tell whether a captured
// conversation's text holds sensitive data (genesys.HasPaymentCard) when
// its captures do not say (Captured.Sensitive false, as an index of
// content hashes gives them). The diff asks it only about conversations
// the export lacks, to name their likely cause.
type SensitiveIndex interface {
	SensitiveData(ctx context.Context, convID string) (bool, error)
}

// ParallelIndex is an Index whose answers wait on round trips (a ledger
// whose evidence is on S3): the diff asks it Parallelism questions at a
// time where it would otherwise ask one after another (SensitiveData,
// for every conversation the export lacks). SensitiveData is then called
// from several goroutines at once.
type ParallelIndex interface {
	Parallelism() int
}

// ConversationIndex is an Index that can hand over one conversation's
// captures at once. When an Index implements it, the diff's file workers
// load each file's conversations while they parse (on every core), the
// comparison keeps only the current conversation's captures — one query
// per conversation instead of one per message, which matters for a ledger
// in SQLite — and the captured messages the export lacks are found from
// what was loaded instead of by a pass over every capture (Each is not
// called).
type ConversationIndex interface {
	Index
	// Conversation returns the latest capture of every message of convID.
	// It is called from several goroutines at once.
	Conversation(ctx context.Context, convID string) ([]Captured, error)
	// Conversations calls fn once with every conversation id that may
	// have captures (Conversation decides); an error from fn stops it.
	Conversations(ctx context.Context, fn func(convID string) error) error
	// Captures calls fn with the captures of the given Seqs (strictly
	// ascending; each one Conversation returned), in that order; an
	// error from fn stops it.
	Captures(ctx context.Context, seqs []uint64, fn func(Captured) error) error
}

// MissingIndex is a ConversationIndex that can read back the captures
// the export lacks more cheaply than Captures: the diff reads them through
// Missing when the index has it.
type MissingIndex interface {
	ConversationIndex
	// Missing is Captures giving only what a missing_from_export finding
	// names — ConversationID, MessageID, Timestamp and Seq; the compared
	// fields may be left empty — so that an index which opens captures
	// (a v3 ledger's salted commitments) need not open again those its
	// Conversation already opened and checked. Any other it opens and
	// checks as Captures would, failing as Captures would.
	Missing(ctx context.Context, seqs []uint64, fn func(Captured) error) error
}

// BriefIndex is a ConversationIndex that can give a conversation's
// captures without opening them. The diff loads a conversation the export
// lacks entirely through ConversationBrief when the index has it: its
// conversation_absent finding names only how many messages were captured,
// the newest capture time and whether any held sensitive data.
type BriefIndex interface {
	ConversationIndex
	// ConversationBrief is Conversation with only ConversationID,
	// MessageID, Timestamp, Seq (and Sensitive, when the index knows it
	// without opening) filled: the same captures, none opened — an index
	// of salted commitments reads no opening, so a missing or wrong one
	// goes unnoticed here (verify --evidence checks every opening).
	ConversationBrief(ctx context.Context, convID string) ([]Captured, error)
}

// MemIndex is an Index held in memory, for tests, benchmarks and small
// ledgers. Its zero value is empty and ready.
type MemIndex struct {
	byKey map[memKey]int
	items []Captured
}

type memKey struct{ conv, msg string }

// Add records a capture; a second Add of the same message replaces it
// (keeping its place in Each order). A zero Seq is replaced by the order
// of first addition, counting from 1.
func (m *MemIndex) Add(c Captured) {
	if m.byKey == nil {
		m.byKey = map[memKey]int{}
	}
	k := memKey{c.ConversationID, c.MessageID}
	if i, ok := m.byKey[k]; ok {
		if c.Seq == 0 {
			c.Seq = m.items[i].Seq
		}
		m.items[i] = c
		return
	}
	if c.Seq == 0 {
		c.Seq = uint64(len(m.items) + 1)
	}
	m.byKey[k] = len(m.items)
	m.items = append(m.items, c)
}

// Len is the number of captured messages.
func (m *MemIndex) Len() int { return len(m.items) }

// Lookup implements Index.
func (m *MemIndex) Lookup(_ context.Context, convID, msgID string) (Captured, bool, error) {
	i, ok := m.byKey[memKey{convID, msgID}]
	if !ok {
		return Captured{}, false, nil
	}
	return m.items[i], true, nil
}

// Each implements Index, in order of first Add.
func (m *MemIndex) Each(ctx context.Context, fn func(Captured) error) error {
	for _, c := range m.items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// bitset marks captured messages seen in the export, by Seq.
type bitset []uint64

func (b *bitset) set(i uint64) {
	w := int(i / 64)
	if w >= len(*b) {
		*b = slices.Grow(*b, w+1-len(*b))[:w+1]
	}
	(*b)[w] |= 1 << (i % 64)
}

func (b bitset) has(i uint64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// count is the number of bits set.
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// eachNotIn calls fn, in ascending order, with every i set in b but not
// in other; an error from fn stops it.
func (b bitset) eachNotIn(other bitset, fn func(i uint64) error) error {
	for wi, w := range b {
		if wi < len(other) {
			w &^= other[wi]
		}
		for w != 0 {
			t := bits.TrailingZeros64(w)
			if err := fn(uint64(wi)*64 + uint64(t)); err != nil {
				return err
			}
			w &= w - 1
		}
	}
	return nil
}
