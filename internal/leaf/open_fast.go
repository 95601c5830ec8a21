package leaf

import (
	"bytes"
	"encoding/hex"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// OpenStored is ParseOpening(b) then d.Open, for a reader that opens
// every v3 capture of a ledger (the diff): the same result and the same
// errors, without the generic decoder, the map of fields or allocations
// per commitment. b is read in the one form Encode writes; anything else
// (and every failure) goes through ParseOpening and Open, which stay the
// reference and word the error. It returns the opened detail and the
// message id the opening names, for the caller to check; the id also
// when the opening parsed but does not open d's commitments.
func (d *MessageDetail) OpenStored(b []byte) (*MessageDetail, string, error) {
	if o, ok := parseOpeningCanonical(b, false); ok && d.opensAll(&o) {
		out := *d
		out.ContentSHA256, out.From = o.fields[0], o.fields[1]
		out.ProviderMessageID, out.To = o.fields[2], o.fields[3]
		return &out, o.messageID, nil
	}
	o, err := ParseOpening(b)
	if err != nil {
		return nil, "", err
	}
	od, err := d.Open(o)
	if err != nil {
		return nil, o.MessageID, err
	}
	return od, o.MessageID, nil
}

// openingFields is an opening read by parseOpeningCanonical: the values
// of PersonalFields, in that order.
type openingFields struct {
	fields    [len(PersonalFields)]string
	messageID string
	salt      [SaltSize]byte
}

// openingKeys are PersonalFields as Encode writes them, key and colon.
var openingKeys = func() (k [len(PersonalFields)]string) {
	for i, f := range PersonalFields {
		k[i] = string(jsonscan.AppendStringRFC8785(nil, f)) + ":"
	}
	return k
}()

// parseOpeningCanonical reads b when it is exactly what Encode writes for
// some opening: the fixed members in their order, strings without
// escapes, and — the final test — Encode of what was read gives b back.
// With views, the strings are views of b (see view), not copies.
func parseOpeningCanonical(b []byte, views bool) (openingFields, bool) {
	var o openingFields
	if len(b) > maxOpening || !utf8.Valid(b) {
		return o, false
	}
	rest := b
	str := func() (string, bool) {
		if len(rest) == 0 || rest[0] != '"' {
			return "", false
		}
		i := bytes.IndexByte(rest[1:], '"')
		if i < 0 {
			return "", false
		}
		s := rest[1 : 1+i]
		if bytes.IndexByte(s, '\\') >= 0 {
			return "", false // an escape: the reference decodes it
		}
		rest = rest[2+i:]
		if views {
			return view(s), true
		}
		return string(s), true
	}
	lit := func(l string) bool {
		if !bytes.HasPrefix(rest, []byte(l)) {
			return false
		}
		rest = rest[len(l):]
		return true
	}
	if !lit(`{"fields":{`) {
		return o, false
	}
	for i := range PersonalFields {
		if i > 0 && !lit(",") {
			return o, false
		}
		if !lit(openingKeys[i]) {
			return o, false
		}
		var ok bool
		if o.fields[i], ok = str(); !ok {
			return o, false
		}
	}
	if !lit(`},"format":"` + OpeningFormat + `","message_id":`) {
		return o, false
	}
	var ok bool
	if o.messageID, ok = str(); !ok {
		return o, false
	}
	if !lit(`,"salt":"`) || len(rest) != 2*SaltSize+2 || string(rest[2*SaltSize:]) != `"}` {
		return o, false
	}
	for _, c := range rest[:2*SaltSize] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return o, false
		}
	}
	if _, err := hex.Decode(o.salt[:], rest[:2*SaltSize]); err != nil {
		return o, false
	}
	// One spelling per opening, as ParseOpening demands; this also turns
	// away strings Encode would write otherwise (control characters,
	// invalid UTF-8).
	var buf [512]byte
	return o, bytes.Equal(o.appendEncode(buf[:0]), b)
}

// appendEncode is Encode of the opening o holds.
func (o *openingFields) appendEncode(b []byte) []byte {
	return appendOpening(b, &o.fields, o.messageID, &o.salt)
}

// opensAll reports whether o opens every one of d's commitments.
func (d *MessageDetail) opensAll(o *openingFields) bool {
	salts := fieldSalts(&o.salt)
	for i, f := range PersonalFields {
		if !hexIs(Commitment(salts[i], o.fields[i]), d.Commitment(f)) {
			return false
		}
	}
	return true
}

// hexIs reports whether want is h in lower-case hex.
func hexIs(h hashchain.Hash, want string) bool {
	if len(want) != 2*hashchain.HashSize {
		return false
	}
	var b [2 * hashchain.HashSize]byte
	hex.Encode(b[:], h[:])
	return string(b[:]) == want
}

// ReadOpening is ParseOpening for a reader of many openings (verify
// --evidence): the one form Encode writes is read without the generic
// decoder; anything else goes through ParseOpening, which stays the
// reference and words the error.
func ReadOpening(b []byte) (*Opening, error) {
	if o, ok := parseOpeningCanonical(b, false); ok {
		out := &Opening{MessageID: o.messageID, Salt: o.salt, Fields: make(map[string]string, len(PersonalFields))}
		for i, f := range PersonalFields {
			out.Fields[f] = o.fields[i]
		}
		return out, nil
	}
	return ParseOpening(b)
}

// SealedIs reports whether raw is the detail derivation writes for d
// sealed by the opening stored as opening, whose evidence is openingSum:
// the opening read (ReadOpening) is of message id, its field values are
// d's personal fields, and raw is EncodeDetail(d) after
// d.SetCommitments(opening, openingSum). verify --evidence asks it of
// every v3 message: it reads the opening in the one form Encode writes,
// without the map of fields, and writes the detail into a buffer kept
// for the next message, with no allocation. False is "not sure": the
// caller takes the reference path, which says what differs
// (FuzzSealedIs holds the two together). d is not changed.
func (d *MessageDetail) SealedIs(raw []byte, id string, opening []byte, openingSum hashchain.Hash) bool {
	o, ok := parseOpeningCanonical(opening, true)
	if !ok || o.messageID != id || o.fields != [...]string{d.ContentSHA256, d.From, d.ProviderMessageID, d.To} {
		return false
	}
	s := detailScratches.Get().(*detailScratch)
	defer detailScratches.Put(s)
	salts := fieldSalts(&o.salt)
	for i := range PersonalFields {
		c := Commitment(salts[i], o.fields[i])
		hex.Encode(s.hex[i][:], c[:])
	}
	hex.Encode(s.hex[len(PersonalFields)][:], openingSum[:])
	s.d = *d
	// PersonalFields order: content_sha256, from, provider_message_id, to.
	s.d.ContentCommitment, s.d.FromCommitment = s.hexString(0), s.hexString(1)
	s.d.ProviderMessageIDCommitment, s.d.ToCommitment = s.hexString(2), s.hexString(3)
	s.d.OpeningEvidence = s.hexString(4)
	s.d.ContentSHA256, s.d.From, s.d.To, s.d.ProviderMessageID = "", "", "", ""
	return s.is(raw)
}

// EncodedIs reports whether raw is EncodeDetail(d), without allocating
// (but for media, which encoding/json writes).
func (d *MessageDetail) EncodedIs(raw []byte) bool {
	s := detailScratches.Get().(*detailScratch)
	defer detailScratches.Put(s)
	s.d = *d
	return s.is(raw)
}

// detailScratch is what SealedIs and EncodedIs write through, kept for
// the next message.
type detailScratch struct {
	d   MessageDetail
	hex [len(PersonalFields) + 1][2 * hashchain.HashSize]byte
	buf []byte
}

var detailScratches = sync.Pool{New: func() any { return &detailScratch{buf: make([]byte, 0, 1024)} }}

// hexString is s.hex[i] as a string: a view, valid while s is not reused.
func (s *detailScratch) hexString(i int) string {
	return unsafe.String(&s.hex[i][0], len(s.hex[i]))
}

// is reports whether raw is EncodeDetail(&s.d), and lets go of what s.d
// points to.
func (s *detailScratch) is(raw []byte) bool {
	b, err := appendMessageDetail(s.buf[:0], &s.d)
	s.d = MessageDetail{}
	if err != nil {
		return false
	}
	if cap(b) <= 64<<10 {
		s.buf = b[:0]
	}
	return bytes.Equal(b, raw)
}
