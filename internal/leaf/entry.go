package leaf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// FormatVersion is the newest format version: the "v" of the message
// leaves custody writes (see Entry.V); FormatV1 leaves are read and
// verified alike.
const FormatVersion = FormatV3

// Entry is one ledger entry: the fields of the leaf object defined in
// docs/ledger-format.md, plus what the ledger computes on append.
//
// Callers fill the fields down to Detail and pass the entry to the
// ledger's Append, which fills Matter (with the ledger's matter) and At
// (with the clock) when they are empty, and sets Seq, Leaf, LeafHash and
// Chain. Entries read back from the ledger are decoded from the stored
// leaf bytes (DecodeLeaf).
type Entry struct {
	// V is the leaf's format version, FormatV1 or FormatV3; decoding sets
	// it. 0 writes the version of the entry's content: FormatV3 for a
	// message with a salted detail (MessageDetail.SetCommitments),
	// FormatV1 otherwise.
	V              int
	Kind           string
	Matter         string
	At             time.Time // stored as RFC 3339 UTC with milliseconds
	ConversationID string
	MessageID      string
	RunID          string
	// PayloadSHA256 is SHA-256 of the RFC 8785 form of the API object
	// (hashchain.PayloadHash); the zero hash means "none".
	PayloadSHA256 hashchain.Hash
	// EvidenceSHA256 is SHA-256 of the raw HTTP body kept as evidence;
	// the zero hash means "none".
	EvidenceSHA256 hashchain.Hash
	Source         *Source
	Compliance     *Compliance // required for messages
	// Supersedes is the seq of the earlier capture of the same subject
	// that this entry replaces: a message that changed at the source, or,
	// with the earlier capture's payload_sha256, the same message
	// re-captured with the attachments that capture did not download
	// (Recaptures).
	Supersedes *uint64
	// Detail is a JSON object with kind-specific data, for custody's
	// kinds written by EncodeDetail and read by DecodeDetail. It is
	// stored in its RFC 8785 form.
	Detail json.RawMessage

	Seq      uint64         // position in the ledger, 0-based; the Merkle leaf index
	Leaf     []byte         // the exact leaf bytes that were hashed
	LeafHash hashchain.Hash // SHA-256(0x00 || Leaf)
	Chain    hashchain.Hash // chain link after this entry
}

// Recaptures reports whether e, which supersedes prev, is a re-capture
// of prev's message with its attachments rather than a change at the
// source: the same payload_sha256 (docs/ledger-format.md, "supersedes").
// An export with --media appends one for a message it finds unchanged
// whose latest capture downloaded none of its attachments (captured with
// --media=false).
func (e *Entry) Recaptures(prev *Entry) bool {
	return e.Kind == KindMessage && prev.Kind == KindMessage && e.Supersedes != nil && *e.Supersedes == prev.Seq &&
		e.PayloadSHA256 == prev.PayloadSHA256
}

// Source is the HTTP request an entry's evidence came from.
type Source struct {
	Method        string `json:"method"`
	Path          string `json:"path"`
	Status        int    `json:"status"`
	CorrelationID string `json:"correlation_id"` // ININ-Correlation-Id; "" when absent
}

// Compliance holds a message's compliance fields exactly as captured.
type Compliance struct {
	// LegalHold is whether the conversation was under deletion protection
	// when captured; nil when unknown (written as JSON null).
	LegalHold *bool `json:"legal_hold"`
	// AuditRefs are audit-trail record ids that concern the message or its
	// conversation; empty, never nil, when there are none.
	AuditRefs []string `json:"audit_refs"`
	// OriginalTimestamp is the message timestamp byte for byte as the API
	// gave it (milliseconds and all).
	OriginalTimestamp string `json:"original_timestamp"`
}

// maxSafeInteger is 2^53: integers up to it survive RFC 8785's double
// formatting exactly.
const maxSafeInteger = 1 << 53

// validKind reports whether k is a lower-case identifier.
func validKind(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// CheckText rejects strings RFC 8785 cannot carry: invalid UTF-8.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid utf-8")
	}
	return nil
}

// checkTexts runs CheckText on name/value pairs.
func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := CheckText(pairs[i+1]); err != nil {
			return fmt.Errorf("%s: %w", pairs[i], err)
		}
	}
	return nil
}

// Validate checks e against the format rules that do not need the ledger
// (the ledger checks supersedes itself).
func (e *Entry) Validate() error { return e.validate(true) }

// validate is Validate; texts false skips the UTF-8 checks of the
// strings, for entries just decoded from JSON (whose strings jsonscan
// has checked).
func (e *Entry) validate(texts bool) error { return e.validateKeep(texts, nil, nil) }

// validateKeep is validate; for a v3 message, when keep is set, it also
// sets *keep to the detail its check decoded, its strings views of
// e.Detail (DecodeCheckedDetail). det, when not nil, is what the strict
// reader learnt of e.Detail in its pass (leafReader.det): when det.ok,
// the message detail's check takes it instead of reading e.Detail again.
func (e *Entry) validateKeep(texts bool, keep **MessageDetail, det *strictDetail) error {
	if e.V != 0 && e.V != FormatV1 && e.V != FormatV3 {
		return fmt.Errorf("v is %d, want %d or %d", e.V, FormatV1, FormatV3)
	}
	// v3 changed the message leaf alone: no custody has written another
	// kind with "v":3 (version gives it only to a salted message).
	if e.V == FormatV3 && e.Kind != KindMessage {
		return fmt.Errorf("v is 3 in a %q entry: only a message is v3", e.Kind)
	}
	if !validKind(e.Kind) {
		return fmt.Errorf("kind %q is not a lower-case identifier", e.Kind)
	}
	if e.Matter == "" {
		return errors.New("matter is empty")
	}
	if texts {
		if err := checkTexts("matter", e.Matter, "conversation_id", e.ConversationID, "message_id", e.MessageID, "run_id", e.RunID); err != nil {
			return err
		}
	}
	if y := e.At.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("at %v is outside years 0001-9999", e.At)
	}
	if e.Source != nil {
		if texts {
			if err := checkTexts("source.method", e.Source.Method, "source.path", e.Source.Path, "source.correlation_id", e.Source.CorrelationID); err != nil {
				return err
			}
		}
		if e.Source.Method == "" || e.Source.Path == "" {
			return errors.New("source needs method and path")
		}
		if e.Source.Status < 0 || e.Source.Status > 999 {
			return fmt.Errorf("source.status %d out of range", e.Source.Status)
		}
	}
	if e.Compliance != nil && texts {
		if err := CheckText(e.Compliance.OriginalTimestamp); err != nil {
			return fmt.Errorf("compliance.original_timestamp: %w", err)
		}
		for _, r := range e.Compliance.AuditRefs {
			if err := CheckText(r); err != nil {
				return fmt.Errorf("compliance.audit_refs: %w", err)
			}
		}
	}
	if e.Kind == KindMessage {
		switch {
		case e.MessageID == "":
			return errors.New("a message needs message_id")
		case e.ConversationID == "":
			return errors.New("a message needs conversation_id")
		case e.PayloadSHA256.IsZero():
			return errors.New("a message needs payload_sha256")
		case e.Compliance == nil:
			return errors.New("a message needs compliance")
		}
		switch {
		case e.version() == FormatV3 && det != nil && det.ok:
			// decodeFast's detail, from the reader's pass.
			if err := saltedRule(&det.md); err != nil {
				return err
			}
			if keep != nil {
				d := new(MessageDetail)
				*d = det.md
				*keep = d
			}
		case e.version() == FormatV3:
			// Views of e.Detail, not copies: the detail is dropped here
			// unless kept, and a kept one is documented as views.
			d, err := checkedSaltedDetail(e.Detail, true)
			if err != nil {
				return err
			}
			if keep != nil {
				*keep = d
			}
		case det != nil && det.ok && det.plain:
			// clearDetailPlain said so in the reader's pass.
		default:
			if err := checkedClearDetail(e.Detail); err != nil {
				return err
			}
		}
	}
	if e.Supersedes != nil && *e.Supersedes >= maxSafeInteger {
		return fmt.Errorf("supersedes %d is too large", *e.Supersedes)
	}
	if len(e.Detail) > 0 {
		if d := bytes.TrimLeft(e.Detail, " \t\r\n"); len(d) == 0 || d[0] != '{' {
			return errors.New("detail is not a JSON object")
		}
	}
	return nil
}

// AppendLeaf returns the leaf: the RFC 8785 (JCS) serialisation of the
// entry object. The fixed members are written directly in JCS order (keys
// sorted, minimal string escaping), which is what hashchain.CanonicalJSON
// would produce for the same object — TestLeafIsJCS holds the two
// together — at a fraction of the cost. Detail, whose shape is free, goes
// through CanonicalDetail (RFC 8785 as well).
//
// It sets e.V to the version it writes, as decoding the leaf would.
func (e *Entry) AppendLeaf(buf []byte) ([]byte, error) {
	var detail []byte
	if len(e.Detail) > 0 {
		var err error
		if detail, err = CanonicalDetail(e.Detail); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
	}
	return e.appendLeaf(buf, detail), nil
}

// AppendLeafDetail is AppendLeaf given detail, what CanonicalDetail
// returned for e.Detail (the ledger has it from checking the entry): it
// writes detail as it is, where AppendLeaf would canonicalize e.Detail
// again.
func (e *Entry) AppendLeafDetail(buf, detail []byte) []byte {
	if len(e.Detail) == 0 {
		detail = nil
	}
	return e.appendLeaf(buf, detail)
}

func (e *Entry) appendLeaf(buf, detail []byte) []byte {
	e.V = e.version()
	b := append(buf, `{"at":"`...)
	b = appendTime(b, e.At)
	b = append(b, '"')
	if c := e.Compliance; c != nil {
		b = append(b, `,"compliance":{"audit_refs":[`...)
		for i, r := range c.AuditRefs {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendStringRFC8785(b, r)
		}
		b = append(b, `],"legal_hold":`...)
		switch {
		case c.LegalHold == nil:
			b = append(b, "null"...)
		case *c.LegalHold:
			b = append(b, "true"...)
		default:
			b = append(b, "false"...)
		}
		b = append(b, `,"original_timestamp":`...)
		b = jsonscan.AppendStringRFC8785(b, c.OriginalTimestamp)
		b = append(b, '}')
	}
	if e.ConversationID != "" {
		b = append(b, `,"conversation_id":`...)
		b = jsonscan.AppendStringRFC8785(b, e.ConversationID)
	}
	if detail != nil {
		b = append(b, `,"detail":`...)
		b = append(b, detail...)
	}
	if !e.EvidenceSHA256.IsZero() {
		b = append(b, `,"evidence_sha256":"`...)
		b = hex.AppendEncode(b, e.EvidenceSHA256[:])
		b = append(b, '"')
	}
	b = append(b, `,"kind":`...)
	b = jsonscan.AppendStringRFC8785(b, e.Kind)
	b = append(b, `,"matter":`...)
	b = jsonscan.AppendStringRFC8785(b, e.Matter)
	if e.MessageID != "" {
		b = append(b, `,"message_id":`...)
		b = jsonscan.AppendStringRFC8785(b, e.MessageID)
	}
	if !e.PayloadSHA256.IsZero() {
		b = append(b, `,"payload_sha256":"`...)
		b = hex.AppendEncode(b, e.PayloadSHA256[:])
		b = append(b, '"')
	}
	if e.RunID != "" {
		b = append(b, `,"run_id":`...)
		b = jsonscan.AppendStringRFC8785(b, e.RunID)
	}
	if s := e.Source; s != nil {
		b = append(b, `,"source":{"correlation_id":`...)
		b = jsonscan.AppendStringRFC8785(b, s.CorrelationID)
		b = append(b, `,"method":`...)
		b = jsonscan.AppendStringRFC8785(b, s.Method)
		b = append(b, `,"path":`...)
		b = jsonscan.AppendStringRFC8785(b, s.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(s.Status), 10)
		b = append(b, '}')
	}
	if e.Supersedes != nil {
		b = append(b, `,"supersedes":`...)
		b = strconv.AppendUint(b, *e.Supersedes, 10)
	}
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, int64(e.version()), 10)
	b = append(b, '}')
	return b
}

// appendTime appends FormatTime(t), which needs no escaping in a JSON
// string: by hand for the years 0001 – 9999 the format allows (a
// quarter of time.Format's time, and no string to allocate and scan),
// by time.Format otherwise.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// version is the format version e is written in: V, or when 0 the form
// its content has. A message whose detail holds salted commitments is v3;
// every other entry is unchanged by v3 and keeps v1 and its bytes.
func (e *Entry) version() int {
	if e.V != 0 {
		return e.V
	}
	if e.Kind == KindMessage && bytes.Contains(e.Detail, []byte(`"opening_evidence_sha256"`)) {
		return FormatV3
	}
	return FormatV1
}

// Version is the format version e is (or will be) written in.
func (e *Entry) Version() int { return e.version() }

// wireEntry is the leaf object as JSON, for decoding stored leaves.
type wireEntry struct {
	At             string          `json:"at"`
	Compliance     *Compliance     `json:"compliance,omitempty"`
	ConversationID string          `json:"conversation_id,omitempty"`
	Detail         json.RawMessage `json:"detail,omitempty"`
	EvidenceSHA256 string          `json:"evidence_sha256,omitempty"`
	Kind           string          `json:"kind"`
	Matter         string          `json:"matter"`
	MessageID      string          `json:"message_id,omitempty"`
	PayloadSHA256  string          `json:"payload_sha256,omitempty"`
	RunID          string          `json:"run_id,omitempty"`
	Source         *Source         `json:"source,omitempty"`
	Supersedes     *uint64         `json:"supersedes,omitempty"`
	V              int             `json:"v"`
}

// DecodeLeaf parses leaf bytes into an Entry (Seq, LeafHash and Chain are
// left for the caller; Leaf is set to leaf, and Detail may be a sub-slice
// of it: a caller that reuses the buffer copies it first). It checks the
// syntax of the v1 leaf object, not that the bytes are canonical.
//
// Leaves in the form AppendLeaf writes take decodeLeafFast; everything
// else goes through decodeLeafJSON, which defines the result.
func DecodeLeaf(leaf []byte) (Entry, error) {
	if e, ok := decodeLeafFast(leaf); ok {
		return e, nil
	}
	return decodeLeafJSON(leaf)
}

// decodeLeafJSON is DecodeLeaf by encoding/json, member names matched
// exactly (unmarshalExact): the reference the fast path must agree with.
func decodeLeafJSON(leaf []byte) (Entry, error) {
	var w wireEntry
	if err := unmarshalExact(leaf, &w); err != nil {
		return Entry{}, fmt.Errorf("leaf: decode leaf: %w", err)
	}
	if w.V != FormatV1 && w.V != FormatV3 {
		return Entry{}, fmt.Errorf("leaf: decode leaf: format version %d, want %d or %d", w.V, FormatV1, FormatV3)
	}
	at, err := ParseTime(w.At)
	if err != nil {
		return Entry{}, fmt.Errorf("leaf: decode leaf: at: %w", err)
	}
	e := Entry{
		V:              w.V,
		Kind:           w.Kind,
		Matter:         w.Matter,
		At:             at,
		ConversationID: w.ConversationID,
		MessageID:      w.MessageID,
		RunID:          w.RunID,
		Source:         w.Source,
		Compliance:     w.Compliance,
		Supersedes:     w.Supersedes,
		Detail:         w.Detail,
		Leaf:           leaf,
	}
	if e.Compliance != nil && e.Compliance.AuditRefs == nil {
		e.Compliance.AuditRefs = []string{}
	}
	for _, h := range []struct {
		name string
		s    string
		dst  *hashchain.Hash
	}{{"payload_sha256", w.PayloadSHA256, &e.PayloadSHA256}, {"evidence_sha256", w.EvidenceSHA256, &e.EvidenceSHA256}} {
		if h.s == "" {
			continue
		}
		if *h.dst, err = hashchain.ParseHash(h.s); err != nil {
			return Entry{}, fmt.Errorf("leaf: decode leaf: %s: %w", h.name, err)
		}
	}
	return e, nil
}
