package leaf

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// Format versions of the "v" member. Leaves custody writes now are
// FormatVersion (3); version 1 leaves, written before salted commitments,
// stay valid and are read alike. There is no version 2: the number 3 is
// the ledger's schema version (user_version) that first holds v3 leaves,
// so one number names both (docs/ledger-format.md, "Versioning").
const (
	FormatV1 = 1
	FormatV3 = 3
)

// PersonalFields are the message fields a v3 leaf holds only as salted
// commitments, in RFC 8785 (byte) order: the content hash of the text (a
// short text's hash is guessable), the sender and recipient (WhatsApp
// phone numbers) and the provider's message id (links the message to the
// phone number at the provider). Each is a string; absent is "".
var PersonalFields = [...]string{"content_sha256", "from", "provider_message_id", "to"}

// IsPersonalField reports whether name is one of PersonalFields.
func IsPersonalField(name string) bool { return slices.Contains(PersonalFields[:], name) }

// SaltSize is the size of a message's salt.
const SaltSize = 32

// Domain-separation prefixes of the two hashes (each followed by a 00
// byte): the field salt derivation and the commitment.
const (
	fieldSaltDomain  = "custody/field/v3"
	commitmentDomain = "custody/commit/v3"
)

// FieldSalt derives the salt of one field from the message's salt:
// HMAC-SHA256(key = salt, "custody/field/v3" ‖ 00 ‖ field). One random
// secret per message is what is stored and erased; revealing one field's
// salt (a field proof) reveals nothing of the others' (HMAC is a PRF).
func FieldSalt(salt []byte, field string) [32]byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(fieldSaltDomain))
	m.Write([]byte{0})
	m.Write([]byte(field))
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// Commitment is SHA-256("custody/commit/v3" ‖ 00 ‖ field salt ‖ value),
// the value as its UTF-8 bytes.
func Commitment(fieldSalt [32]byte, value string) hashchain.Hash {
	// Its input on the stack when the value is short: verify and the diff
	// compute four a message.
	var buf [256]byte
	c := append(buf[:0], commitmentDomain...)
	c = append(c, 0)
	c = append(c, fieldSalt[:]...)
	c = append(c, value...)
	return sha256.Sum256(c)
}

// OpeningFormat is the "format" member of an opening.
const OpeningFormat = "custody-opening/v3"

// Opening is what opens a v3 message leaf's commitments: the message's
// salt and the values of its PersonalFields. It is kept as an evidence
// object of its own (named by the detail's opening_evidence_sha256), never
// in the ledger, so that erasing it leaves the commitments unopenable
// while every hash and proof stays valid.
type Opening struct {
	MessageID string
	Salt      [SaltSize]byte
	Fields    map[string]string // every PersonalFields name
}

// Commitments returns the commitment of every personal field, by name.
func (o *Opening) Commitments() map[string]hashchain.Hash {
	c := o.commitments()
	out := make(map[string]hashchain.Hash, len(PersonalFields))
	for i, f := range PersonalFields {
		out[f] = c[i]
	}
	return out
}

// commitments is Commitments in PersonalFields order, the four field
// salts derived together (fieldSalts). TestCommitmentsShared holds it to
// FieldSalt and Commitment.
func (o *Opening) commitments() [len(PersonalFields)]hashchain.Hash {
	salts := fieldSalts(&o.Salt)
	var out [len(PersonalFields)]hashchain.Hash
	for i := range PersonalFields {
		out[i] = Commitment(salts[i], o.Fields[PersonalFields[i]])
	}
	return out
}

// fieldSalts is FieldSalt(salt, f) for every f of PersonalFields, with
// HMAC-SHA256 spelled out (RFC 2104, a key of one block or less): the
// padded key's block is hashed once for all four, inner and outer, not
// once a field — ten SHA-256 blocks instead of sixteen, and no state
// allocated a message (crypto/hmac allocates its own each time). Export
// derives four a message, and verify --evidence and the diff again:
// 1.39 → 0.80 µs a message (BenchmarkFieldSalts).
func fieldSalts(salt *[SaltSize]byte) (out [len(PersonalFields)][32]byte) {
	st := saltStates.Get().(*saltState)
	defer saltStates.Put(st)
	if st.derive(salt) != nil {
		// crypto/sha256 always saves and restores its state; if it ever
		// could not, the definition gives the same salts.
		return fieldSaltsSlow(*salt)
	}
	return st.out
}

// fieldSaltsSlow is fieldSalts by the definition. It takes the salt by
// value: handed to crypto/hmac, it escapes, and a pointer to it would
// move every caller's salt to the heap (an allocation a message).
func fieldSaltsSlow(salt [SaltSize]byte) (out [len(PersonalFields)][32]byte) {
	for i, f := range PersonalFields {
		out[i] = FieldSalt(salt[:], f)
	}
	return out
}

// derive is fieldSalts on st's states, into st.out. Every buffer the
// hashes are handed is st's own: one on the stack would escape through
// the hash.Hash calls, an allocation each.
func (st *saltState) derive(salt *[SaltSize]byte) error {
	if err := st.keyed(st.inner, salt, 0x36, &st.innerState); err != nil {
		return err
	}
	if err := st.keyed(st.outer, salt, 0x5c, &st.outerState); err != nil {
		return err
	}
	for i := range PersonalFields {
		if i > 0 { // back to the states after the padded key
			if err := restore(st.inner, st.innerState); err != nil {
				return err
			}
			if err := restore(st.outer, st.outerState); err != nil {
				return err
			}
		}
		st.inner.Write(fieldSaltInputs[i])
		st.inner.Sum(st.sum[:0])
		st.outer.Write(st.sum[:])
		st.outer.Sum(st.out[i][:0])
	}
	return nil
}

// keyed starts h on the salt padded with pad (RFC 2104's ipad or opad)
// and saves that state in saved.
func (st *saltState) keyed(h hash.Hash, salt *[SaltSize]byte, pad byte, saved *[]byte) error {
	for k := range st.block {
		st.block[k] = pad
	}
	for k, c := range salt {
		st.block[k] ^= c
	}
	h.Reset()
	h.Write(st.block[:])
	a, ok := h.(encoding.BinaryAppender)
	if !ok {
		return errNoState
	}
	var err error
	*saved, err = a.AppendBinary((*saved)[:0])
	return err
}

// restore sets h back to the state keyed saved.
func restore(h hash.Hash, saved []byte) error {
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return errNoState
	}
	return u.UnmarshalBinary(saved)
}

var errNoState = errors.New("leaf: hash state cannot be saved")

// saltState is fieldSalts' two SHA-256 states and their copies after the
// padded key, with the buffers it hashes through, kept for the next
// message.
type saltState struct {
	inner, outer           hash.Hash
	innerState, outerState []byte
	block                  [sha256.BlockSize]byte
	sum                    [sha256.Size]byte
	out                    [len(PersonalFields)][32]byte
}

var saltStates = sync.Pool{New: func() any { return &saltState{inner: sha256.New(), outer: sha256.New()} }}

// fieldSaltInputs are the HMAC inputs of PersonalFields' salts,
// fieldSaltDomain 0x00 field, written once (not converted a message).
var fieldSaltInputs = func() (in [len(PersonalFields)][]byte) {
	for i, f := range PersonalFields {
		in[i] = append(append([]byte(fieldSaltDomain), 0), f...)
	}
	return in
}()

// Encode returns the opening's bytes as stored: the RFC 8785 form of
// {"fields":{…},"format":"custody-opening/v3","message_id":…,"salt":hex}.
func (o *Opening) Encode() []byte {
	var fields [len(PersonalFields)]string
	for i, f := range PersonalFields {
		fields[i] = o.Fields[f]
	}
	return appendOpening(nil, &fields, o.MessageID, &o.Salt)
}

// appendOpening appends the stored form of an opening, its field values
// in PersonalFields order: the one writer of that form (Encode, and the
// fast reader's check that it read Encode's bytes).
func appendOpening(b []byte, fields *[len(PersonalFields)]string, messageID string, salt *[SaltSize]byte) []byte {
	b = append(b, `{"fields":{`...)
	for i, f := range PersonalFields {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonscan.AppendStringRFC8785(b, f)
		b = append(b, ':')
		b = jsonscan.AppendStringRFC8785(b, fields[i])
	}
	b = append(b, `},"format":"`+OpeningFormat+`","message_id":`...)
	b = jsonscan.AppendStringRFC8785(b, messageID)
	b = append(b, `,"salt":"`...)
	b = hex.AppendEncode(b, salt[:])
	return append(b, `"}`...)
}

// maxOpening bounds an opening: four short strings and a salt.
const maxOpening = 1 << 20

// ParseOpening reads an opening strictly: its exact members, each a
// string, the salt 64 lower-case hex digits, and the bytes in the form
// Encode writes (so one opening has one spelling). The bytes are
// hostile input: an evidence store can hold anything.
func ParseOpening(b []byte) (*Opening, error) {
	if len(b) > maxOpening {
		return nil, fmt.Errorf("leaf: opening: %d bytes is too large", len(b))
	}
	if err := jsonscan.Check(b, 4); err != nil {
		return nil, fmt.Errorf("leaf: opening: %w", err)
	}
	if err := checkOpeningMembers(b); err != nil {
		return nil, fmt.Errorf("leaf: opening: %w", err)
	}
	var w struct {
		Fields    map[string]string `json:"fields"`
		Format    string            `json:"format"`
		MessageID string            `json:"message_id"`
		Salt      string            `json:"salt"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("leaf: opening: %w", err)
	}
	if w.Format != OpeningFormat {
		return nil, fmt.Errorf("leaf: opening: format %q, want %q", w.Format, OpeningFormat)
	}
	s, err := hex.DecodeString(w.Salt)
	if err != nil || len(s) != SaltSize {
		return nil, errors.New("leaf: opening: salt is not 64 hex digits")
	}
	o := &Opening{MessageID: w.MessageID, Fields: w.Fields}
	copy(o.Salt[:], s)
	for k := range w.Fields {
		if !IsPersonalField(k) {
			return nil, fmt.Errorf("leaf: opening: unknown field %q", k)
		}
	}
	if len(w.Fields) != len(PersonalFields) {
		return nil, fmt.Errorf("leaf: opening: %d fields, want %d", len(w.Fields), len(PersonalFields))
	}
	if !bytes.Equal(o.Encode(), b) {
		return nil, errors.New("leaf: opening: not in its canonical form")
	}
	return o, nil
}

// openingMembers are the members of an opening, all required.
var openingMembers = []string{"fields", "format", "message_id", "salt"}

// checkOpeningMembers checks the names of an opening (valid JSON): its
// members and those of its fields, each spelled exactly, present and
// once, before encoding/json (which would match them without regard to
// case) reads them. ParseOpening's canonical form would refuse any other
// spelling too; this says what is wrong, and does not rest on it.
func checkOpeningMembers(b []byte) error {
	i := jsonscan.Space(b, 0)
	if b[i] != '{' {
		return errors.New("not a json object")
	}
	seen, _, err := jsonscan.Members(b, i, openingMembers, func(k, v int) (int, error) {
		if openingMembers[k] != "fields" || b[v] != '{' {
			return jsonscan.Skip(b, v, 1) // encoding/json refuses a value of another type
		}
		seen, end, err := jsonscan.Members(b, v, PersonalFields[:], func(_, v int) (int, error) { return jsonscan.Skip(b, v, 0) })
		if err != nil {
			return end, fmt.Errorf("fields: %w", namesError(err))
		}
		if m := jsonscan.Missing(seen, 1<<len(PersonalFields)-1, PersonalFields[:]); m != "" {
			return end, fmt.Errorf("fields: %s is missing", m)
		}
		return end, nil
	})
	if err != nil {
		return namesError(err)
	}
	if m := jsonscan.Missing(seen, 1<<len(openingMembers)-1, openingMembers); m != "" {
		return fmt.Errorf("member %q is missing", m)
	}
	return nil
}

// Commitment returns the detail's commitment to personal field f, "" when
// f is not one or the detail has none (a v1 detail).
func (d *MessageDetail) Commitment(f string) string {
	switch f {
	case "content_sha256":
		return d.ContentCommitment
	case "from":
		return d.FromCommitment
	case "provider_message_id":
		return d.ProviderMessageIDCommitment
	case "to":
		return d.ToCommitment
	}
	return ""
}

// Salted reports whether the detail is of the v3 form: commitments and an
// opening instead of the personal fields in clear.
func (d *MessageDetail) Salted() bool { return d.OpeningEvidence != "" }

// SetCommitments fills the detail's commitments from o and names the
// opening's evidence object, clearing the personal fields in clear.
func (d *MessageDetail) SetCommitments(o *Opening, openingSum hashchain.Hash) {
	c := o.commitments() // PersonalFields order
	// The five in hex, in one allocation (verify re-derives every message).
	sums := [...]*hashchain.Hash{&c[0], &c[1], &c[2], &c[3], &openingSum}
	buf := make([]byte, len(sums)*2*hashchain.HashSize)
	var s [len(sums)]string
	for i, h := range sums {
		b := buf[i*2*hashchain.HashSize : (i+1)*2*hashchain.HashSize]
		hex.Encode(b, h[:])
		s[i] = unsafe.String(&b[0], len(b)) // buf is written once, here, and never again
	}
	d.ContentCommitment, d.FromCommitment, d.ProviderMessageIDCommitment, d.ToCommitment, d.OpeningEvidence = s[0], s[1], s[2], s[3], s[4]
	d.ContentSHA256, d.From, d.To, d.ProviderMessageID = "", "", "", ""
}

// Open checks o against the detail's commitments and returns the detail
// with the personal fields filled in from o (commitments kept).
func (d *MessageDetail) Open(o *Opening) (*MessageDetail, error) {
	c := o.commitments()
	for i, f := range PersonalFields {
		if c[i].String() != d.Commitment(f) {
			return nil, fmt.Errorf("leaf: opening does not open the commitment to %s", f)
		}
	}
	out := *d
	out.ContentSHA256, out.From = o.Fields["content_sha256"], o.Fields["from"]
	out.ProviderMessageID, out.To = o.Fields["provider_message_id"], o.Fields["to"]
	return &out, nil
}

// checkedSaltedDetail is the v3 rule for a message's detail: every
// commitment and the opening's evidence are 64 lower-case hex digits and
// no personal field is in clear. It returns the detail it decoded
// (DecodeDetail's); with views, its strings may be views of raw
// (decodeFast's view).
func checkedSaltedDetail(raw []byte, views bool) (*MessageDetail, error) {
	d := new(MessageDetail)
	if !d.decodeFast(raw, views) {
		if err := checkMessageDetailTypes(raw); err != nil {
			return nil, fmt.Errorf("v3 message detail: %w", err)
		}
		dd, err := decodeDetail(KindMessage, raw)
		if err != nil {
			return nil, fmt.Errorf("v3 message detail: %w", err)
		}
		d = dd.(*MessageDetail)
	}
	if err := saltedRule(d); err != nil {
		return nil, err
	}
	return d, nil
}

// saltedRule is checkedSaltedDetail's rule, on the detail decoded.
func saltedRule(d *MessageDetail) error {
	if d.ContentSHA256 != "" || d.From != "" || d.To != "" || d.ProviderMessageID != "" {
		return errors.New("a v3 message detail holds a personal field in clear")
	}
	for _, f := range PersonalFields {
		if !isLowerHex64(d.Commitment(f)) {
			return fmt.Errorf("a v3 message detail needs %s as 64 lower-case hex digits", commitmentMember(f))
		}
	}
	if !isLowerHex64(d.OpeningEvidence) {
		return fmt.Errorf("a v3 message detail needs %s as 64 lower-case hex digits", commitmentMember("opening_evidence_sha256"))
	}
	return nil
}

// checkedClearDetail is the v1 rule for a message's detail, the form
// before salted commitments: none of the five members of the v3 form (a
// commitment or an opening makes a message v3, and version() writes no
// other v1 message), and the members the format names of their type, as
// in v3. The personal fields in clear are not required: which members a
// capture has is derivation's to judge (verify --evidence).
func checkedClearDetail(raw []byte) error {
	if clearDetailPlain(raw) {
		return nil
	}
	return checkedClearDetailAll(raw)
}

// checkedClearDetailAll is checkedClearDetail without its fast path.
func checkedClearDetailAll(raw []byte) error {
	if len(raw) == 0 || jsonscan.Check(raw, jsonscan.MaxDepth) != nil {
		return nil // no detail, or not JSON: the detail's own check, after supersedes
	}
	if err := checkMessageDetailTypes(raw); err != nil {
		return fmt.Errorf("v1 message detail: %w", err)
	}
	_, err := jsonscan.Object(raw, jsonscan.Space(raw, 0), func(key []byte, v int) (int, error) {
		if k := string(key); k == "opening_evidence_sha256" || strings.HasSuffix(k, "_commitment") && IsPersonalField(strings.TrimSuffix(k, "_commitment")) {
			return v, fmt.Errorf("a v1 message detail holds %s, a member of the v3 form", k)
		}
		return jsonscan.Skip(raw, v, jsonscan.MaxDepth)
	})
	return err
}

// clearDetailPlain reports whether raw is a v1 detail as exports wrote
// them, an object whose members the format names as strings are strings,
// with no media and no member of the v3 form: for such a detail
// checkedClearDetail has nothing to say, and this one pass over it costs
// a third of its three. (On the strict reader's path the detail's one
// pass, canonMessageDetail, answers for it: FuzzCanonMessageDetail.)
// False means only "not sure": checkedClearDetail decides.
// FuzzCheckedClearDetail holds the two together.
func clearDetailPlain(raw []byte) bool {
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	end, err := jsonscan.Object(raw, i, func(key []byte, v int) (int, error) {
		switch {
		case messageDetailStrings[string(key)]:
			if v >= len(raw) || raw[v] != '"' || v3Member(key) {
				return v, errDecline
			}
			end, _, err := jsonscan.String(raw, v)
			return end, err
		case string(key) == "media", bytes.HasSuffix(key, []byte("_commitment")):
			return v, errDecline
		}
		return jsonscan.Skip(raw, v, jsonscan.MaxDepth)
	})
	return err == nil && jsonscan.Space(raw, end) == len(raw)
}

// v3Member is clearDetailPlain's test of a string member of a message
// detail: one of the v3 form (a commitment, or the opening's evidence),
// which a plain v1 detail does not hold.
func v3Member(key []byte) bool {
	return string(key) == "opening_evidence_sha256" || bytes.HasSuffix(key, []byte("_commitment"))
}

// messageDetailStrings are the members of a message detail that are
// strings, and mediaRefStrings those of each of its media: in a v3
// message's detail each is a string when present, never null nor another
// type (docs/ledger-format.md, "Salts and commitments"). encoding/json
// would read null as "" and custody refuse what others accept.
var (
	messageDetailStrings = map[string]bool{
		"content_sha256": true, "date_deleted": true, "date_modified": true, "direction": true, "from": true,
		"messenger_type": true, "provider_message_id": true, "to": true,
		"content_sha256_commitment": true, "from_commitment": true, "opening_evidence_sha256": true,
		"provider_message_id_commitment": true, "to_commitment": true,
	}
	mediaRefStrings = map[string]bool{
		"evidence_sha256": true, "id": true, "reason": true, "sha256": true, "stated_sha256": true, "status": true,
	}
)

// checkMessageDetailTypes checks the types of the members of a v3
// message detail that the format names (messageDetailStrings, and media:
// an array of objects whose mediaRefStrings members are strings); other
// members may be anything.
func checkMessageDetailTypes(raw []byte) error {
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errors.New("the detail is not an object")
	}
	_, err := jsonscan.Object(raw, i, func(key []byte, v int) (int, error) {
		end, err := jsonscan.Skip(raw, v, jsonscan.MaxDepth)
		if err != nil {
			return end, err
		}
		switch k := string(key); {
		case messageDetailStrings[k] && raw[v] != '"':
			return end, fmt.Errorf("detail.%s is %.20s, not a string", k, raw[v:end])
		case k == "media" && raw[v] != '[':
			return end, fmt.Errorf("detail.media is %.20s, not an array", raw[v:end])
		case k == "media":
			_, err = jsonscan.Array(raw, v, func(e int) (int, error) {
				if raw[e] != '{' {
					end, _ := jsonscan.Skip(raw, e, jsonscan.MaxDepth)
					return end, fmt.Errorf("an element of detail.media is %.20s, not an object", raw[e:max(end, e)])
				}
				return jsonscan.Object(raw, e, func(key []byte, w int) (int, error) {
					end, err := jsonscan.Skip(raw, w, jsonscan.MaxDepth)
					if err == nil && mediaRefStrings[string(key)] && raw[w] != '"' {
						err = fmt.Errorf("detail.media[].%s is %.20s, not a string", key, raw[w:end])
					}
					return end, err
				})
			})
		}
		return end, err
	})
	return err
}

// isLowerHex64 reports whether s is 64 lower-case hex digits (without
// decoding: every v3 message leaf's strict check runs it five times),
// eight bytes at a time: a byte b below 0x80 is in [lo, hi] when b +
// (0x80 - lo) sets its high bit and b + (0x7f - hi) does not (no sum
// carries into the next byte). TestIsLowerHex64 holds it to the byte
// loop.
func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for i := 0; i < 64; i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		if x&high != 0 {
			return false
		}
		digit := (x + ones*(0x80-'0')) &^ (x + ones*(0x7f-'9'))
		lower := (x + ones*(0x80-'a')) &^ (x + ones*(0x7f-'f'))
		if (digit|lower)&high != high {
			return false
		}
	}
	return true
}

// commitmentMember is the detail member holding field f's commitment.
func commitmentMember(f string) string {
	if f == "opening_evidence_sha256" {
		return f
	}
	return f + "_commitment"
}
