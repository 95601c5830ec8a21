package exportfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/millis"
)

// Indexes of the compliance fields in Message.Fields, in
// finding.ComplianceFields order.
const (
	IdxTimestamp = iota
	IdxContent
	IdxSender
	IdxLegalHold
	IdxAuditTrailID
	IdxTemplateHeaderMedia
	IdxAttachments
	NumFields
)

// Message.Fields has a value per compliance field: a field added to
// finding.ComplianceFields without an index here does not compile.
var _ = [NumFields]struct{}(([len(finding.ComplianceFields)]struct{}{}))

// Value is one compliance field as found in an exported message.
type Value struct {
	Present bool
	// Text is the comparable form: the timestamp as written, the content's
	// hash (genesys.ContentHash), the trimmed sender, "true"/"false", the
	// audit ids as JoinIDs gives them, the trimmed id of a template's
	// header media, the attachments' ids as JoinIDs gives them.
	Text string
	// T and Digits are the parsed timestamp and its fractional digits.
	T      time.Time
	Digits int
	// Bad, when set, says why the value is unusable (wrong type, not a
	// timestamp); Raw is then a short quote of it.
	Bad string
	Raw string
	// Unheld: the message's shape keeps this field at no path (its policy
	// lists none), so the format cannot hold it: its absence is the
	// format's, the same for every message of the shape (docs/diff.md,
	// format_lacks), not something this message lost.
	Unheld bool
}

// Message is one exported message, reduced to what is compared.
type Message struct {
	Conv, ID string
	NoID     string // why the message has no usable id
	// Bad, when set, says why the message cannot be matched though it
	// carries ids: BadField (message_id or conversation_id) holds text
	// that is not valid UTF-8, or its key is given twice with different
	// values. BadRaw shows what the export holds (invalid bytes as \xNN).
	Bad, BadField, BadRaw string
	File                  string
	Shape                 string // the name of the file's shape (genesys, reshape, jsonl)
	Array                 string // the messages array's key; "" for a JSON Lines line
	Pos                   int    // index in the array, or line number
	Fields                [NumFields]Value
}

// Where says where in its file a message is, for findings.
func (r *Message) Where() string {
	if r.Array == "" {
		return "line " + strconv.Itoa(r.Pos)
	}
	return r.Array + "[" + strconv.Itoa(r.Pos) + "]"
}

// msgType decodes message objects into a struct made for the policy, with
// one rawField per top-level key its paths use: unlike a map, keys nobody
// asked for cost no allocation. (encoding/json matches struct keys
// case-insensitively, so "ID" also fills "id"; both then count as the
// same key given twice.)
type msgType struct {
	typ   reflect.Type
	index map[string]int // top-level key → field
}

func newMsgType(pathLists ...[][]string) *msgType {
	mt := &msgType{index: map[string]int{}}
	var fields []reflect.StructField
	for _, paths := range pathLists {
		for _, path := range paths {
			k := path[0]
			if _, ok := mt.index[k]; ok {
				continue
			}
			mt.index[k] = len(fields)
			fields = append(fields, reflect.StructField{
				Name: "F" + strconv.Itoa(len(fields)),
				Type: reflect.TypeFor[rawField](),
				Tag:  reflect.StructTag(`json:` + strconv.Quote(k)),
			})
		}
	}
	mt.typ = reflect.StructOf(fields)
	return mt
}

// rawField is one top-level key of a message as written: the raw bytes of
// its first value and, when the key is given again with a different value
// (`"legal_hold":true,"legal_hold":false`), the first such value, so that
// a conflicting duplicate key is a finding rather than last-wins. A key
// repeated with the very same bytes is not a conflict.
type rawField struct {
	b     []byte
	other []byte // a later, different value of the key; nil if none
	n     int32  // occurrences
}

// UnmarshalJSON records one occurrence (encoding/json, the reference
// path); the bytes are copied.
func (f *rawField) UnmarshalJSON(d []byte) error {
	f.n++
	switch {
	case f.n == 1:
		f.b = append(f.b[:0], d...)
	case f.other == nil && !bytes.Equal(f.b, d):
		f.other = append([]byte(nil), d...)
	}
	return nil
}

// set records one occurrence for the fast path: d is kept, not copied.
func (f *rawField) set(d []byte) {
	f.n++
	switch {
	case f.n == 1:
		f.b = d
	case f.other == nil && !bytes.Equal(f.b, d):
		f.other = d
	}
}

func (f *rawField) reset() {
	f.b, f.other, f.n = f.b[:0], nil, 0
}

// msgBuf is a reusable buffer for one decoded message object: decoding
// into the same struct again reuses its fields' byte slices, so a file's
// messages cost no per-field allocation. Whatever is extracted from it is
// copied.
type msgBuf struct {
	mt     *msgType
	v      reflect.Value // *struct
	pp     reflect.Value // **struct: JSON null sets *pp to nil, which a *struct cannot show
	fields []*rawField   // the struct's fields
	target any           // pp as an interface, for Decode
}

func (mt *msgType) new() *msgBuf {
	m := &msgBuf{mt: mt, v: reflect.New(mt.typ), pp: reflect.New(reflect.PointerTo(mt.typ))}
	for i := range mt.typ.NumField() {
		m.fields = append(m.fields, m.v.Elem().Field(i).Addr().Interface().(*rawField))
	}
	m.target = m.pp.Interface()
	return m
}

// reset readies the buffer for the next message: absent keys must read as
// absent, and a JSON null before may have cleared the pointer.
func (m *msgBuf) reset() {
	m.pp.Elem().Set(m.v)
	for _, f := range m.fields {
		f.reset()
	}
}

// set gives field f (a key of the message type) the value d, as the fast
// path scans it.
func (m *msgBuf) set(f int, d []byte) { m.fields[f].set(d) }

// null reports whether the decoded value was JSON null.
func (m *msgBuf) null() bool { return m.pp.Elem().IsNil() }

// top returns a top-level key's value, and a later different value of the
// same key (nil if none); present values are never empty.
func (m *msgBuf) top(k string) (v, other json.RawMessage, ok bool) {
	i, ok := m.mt.index[k]
	if !ok {
		return nil, nil, false
	}
	f := m.fields[i]
	return f.b, f.other, len(f.b) > 0
}

// lookupMsg follows path from a message; JSON null counts as absent. dup
// is a different value of the same key given again, on the path, nil if
// none: the export does not say which holds.
func lookupMsg(m *msgBuf, path []string) (v, dup json.RawMessage, ok bool) {
	v, dup, ok = m.top(path[0])
	if !ok || (dup == nil && isNull(v)) {
		return nil, nil, false
	}
	if len(path) == 1 || dup != nil {
		return v, dup, true
	}
	return lookup(v, path[1:])
}

// lookupMsgAny follows the first of paths present; key names it.
func lookupMsgAny(m *msgBuf, paths [][]string) (v, dup json.RawMessage, key string, ok bool) {
	for _, p := range paths {
		if v, dup, ok := lookupMsg(m, p); ok {
			return v, dup, strings.Join(p, "."), true
		}
	}
	return nil, nil, "", false
}

// unquote reads a JSON string: through jsonscan, which reads a string
// without escapes as it is; encoding/json only for what jsonscan refuses.
// A string that is not valid text (badText: invalid UTF-8, a lone
// surrogate escape) is refused: encoding/json would read it with U+FFFD.
func unquote(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if end, escaped, err := jsonscan.String(v, 0); err == nil && end == len(v) {
		if !escaped {
			return string(v[1 : end-1]), true
		}
		if s, _, err := jsonscan.AppendString(nil, v, 0); err == nil {
			return string(s), true
		}
	}
	if badText(v) != "" {
		return "", false
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// badText says why the raw JSON value v holds text that is not valid
// Unicode — a byte sequence that is not UTF-8, or an escaped UTF-16
// surrogate without its pair — and "" when it holds none. encoding/json
// would silently read either as U+FFFD, so that "m\xff" and "m\xfe"
// became the same id.
func badText(v []byte) string {
	if !utf8.Valid(v) {
		for i := 0; i < len(v); {
			r, n := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Sprintf("invalid UTF-8 (byte 0x%02x at offset %d of the value)", v[i], i)
			}
			i += n
		}
	}
	for i := 0; ; {
		j := bytes.IndexByte(v[i:], '\\')
		if j < 0 {
			return ""
		}
		i += j
		if i+1 >= len(v) {
			return ""
		}
		if v[i+1] != 'u' {
			i += 2 // an escape of one character, perhaps a backslash
			continue
		}
		r, ok := hex4(v, i+2)
		switch {
		case !ok:
			return "" // not JSON: the parser reports it
		case r >= 0xD800 && r < 0xDC00:
			if lo, ok := hex4(v, i+8); ok && i+7 < len(v) && v[i+6] == '\\' && v[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
				i += 12
				continue
			}
			return fmt.Sprintf("invalid UTF-16: unpaired surrogate \\u%04x at offset %d of the value", r, i)
		case r >= 0xDC00 && r < 0xE000:
			return fmt.Sprintf("invalid UTF-16: unpaired surrogate \\u%04x at offset %d of the value", r, i)
		}
		i += 6
	}
}

// hex4 reads the four hex digits at v[i:].
func hex4(v []byte, i int) (rune, bool) {
	if i+4 > len(v) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// escapeText shows a raw value that is not valid text: invalid bytes as
// \xNN, at most 120 bytes.
func escapeText(v []byte) string {
	v = bytes.TrimSpace(v)
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < 120; {
		r, n := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", v[i])
		} else {
			b.Write(v[i : i+n])
		}
		i += n
	}
	if b.Len() >= 120 {
		b.WriteString("…")
	}
	return b.String()
}

// both shows the two values of a key given twice, "first | second"
// (escapeText: invalid bytes as \xNN, at most 120 bytes each).
func both(v, dup []byte) string { return escapeText(v) + " | " + escapeText(dup) }

// conflict is the Bad of a key given twice with different values.
func conflict(key string) string {
	return fmt.Sprintf("key %q given more than once with different values: the export does not say which holds", key)
}

// lookup follows path through the nested objects of v; JSON null counts
// as absent. A key given twice on the path with different values returns
// both, as lookupMsg does.
func lookup(v json.RawMessage, path []string) (found, dup json.RawMessage, ok bool) {
	for i, seg := range path {
		found, dup, ok = member(v, seg)
		if !ok || (dup == nil && isNull(found)) {
			return nil, nil, false
		}
		if i == len(path)-1 || dup != nil {
			return found, dup, true
		}
		v = found
	}
	return nil, nil, false
}

// member returns the value of key in the object v (false if v is not an
// object or lacks it) and a later, different value of the same key.
func member(v json.RawMessage, key string) (found, dup json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(v))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, nil, false
		}
		if t != key {
			continue
		}
		switch {
		case !ok:
			found, ok = val, true
		case dup == nil && !bytes.Equal(found, val):
			dup = val
		}
	}
	return found, dup, ok
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// jsonType names the JSON type of v for messages.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// quote shortens a raw JSON value for a report.
func quote(v json.RawMessage) string {
	s := string(bytes.TrimSpace(v))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// idString reads an id: a string, or a number kept as written.
func idString(v json.RawMessage) (string, bool) {
	switch jsonType(v) {
	case "string":
		s, ok := unquote(v)
		if !ok {
			return "", false
		}
		s = strings.TrimSpace(s)
		return s, s != ""
	case "number":
		return string(bytes.TrimSpace(v)), true
	}
	return "", false
}

// makeMessage extracts what is compared from one message object.
func makeMessage(obj *msgBuf, sf *shapeFields) Message {
	var r Message
	if v, dup, key, ok := lookupMsgAny(obj, sf.msgID); ok {
		switch {
		case dup != nil:
			r.unmatched(finding.FieldMessageID, conflict(key), both(v, dup))
		case badText(v) != "":
			r.unmatched(finding.FieldMessageID, "message id: "+badText(v), escapeText(v))
		default:
			id, good := idString(v)
			if good {
				r.ID = id
			} else {
				r.NoID = fmt.Sprintf("message id is a JSON %s: %s", jsonType(v), quote(v))
			}
		}
	} else {
		r.NoID = "message has no id"
	}
	r.Shape = sf.name
	for i := range NumFields {
		if len(sf.fields[i]) == 0 {
			r.Fields[i].Unheld = true
			continue
		}
		if i == IdxAttachments {
			r.Fields[i] = attachmentsValue(obj, sf.fields[i])
			continue
		}
		v, dup, key, ok := lookupMsgAny(obj, sf.fields[i])
		switch {
		case !ok:
			continue
		case dup != nil:
			r.Fields[i] = Value{Present: true, Bad: conflict(key), Raw: both(v, dup)}
		case badText(v) != "":
			r.Fields[i] = Value{Present: true, Bad: badText(v), Raw: escapeText(v)}
		default:
			r.Fields[i] = parseValue(i, v)
		}
	}
	return r
}

// unmatched marks a message that cannot be matched though it carries ids.
func (r *Message) unmatched(field, why, raw string) {
	if r.Bad == "" {
		r.Bad, r.BadField, r.BadRaw = why, field, raw
	}
}

// messageConv reads a message's own conversation id (JSON Lines) from the
// value of key; a conflicting or invalid one leaves the message unmatched.
func (r *Message) messageConv(v, dup json.RawMessage, key string) {
	switch {
	case dup != nil:
		r.unmatched(finding.FieldConversationID, conflict(key), both(v, dup))
	case badText(v) != "":
		r.unmatched(finding.FieldConversationID, "conversation id: "+badText(v), escapeText(v))
	default:
		r.Conv, _ = idString(v)
	}
}

func parseValue(field int, v json.RawMessage) Value {
	out := Value{Present: true}
	typ := jsonType(v)
	wrong := func(want string) Value {
		out.Bad = fmt.Sprintf("wrong type: want %s, got JSON %s", want, typ)
		out.Raw = quote(v)
		return out
	}
	str := func() (string, bool) { return unquote(v) }
	switch field {
	case IdxTimestamp:
		switch typ {
		case "string":
			s, _ := str()
			if t, ok := millis.Parse(s); ok { // ParseTimestamp's answer, faster
				out.Text, out.T, out.Digits = s, t, 3
				break
			}
			t, digits, err := genesys.ParseTimestamp(strings.TrimSpace(s))
			if err != nil {
				out.Bad = "not an RFC 3339 timestamp"
				out.Raw = s
				return out
			}
			out.Text, out.T, out.Digits = s, t, digits
		case "number":
			// Epoch numbers: milliseconds when large enough, else seconds.
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				out.Bad = "not an integer epoch timestamp"
				out.Raw = quote(v)
				return out
			}
			out.Text = string(bytes.TrimSpace(v))
			if n >= 1e11 || n <= -1e11 {
				out.T, out.Digits = time.UnixMilli(n).UTC(), 3
			} else {
				out.T, out.Digits = time.Unix(n, 0).UTC(), 0
			}
		default:
			return wrong("string")
		}
	case IdxContent:
		if typ != "string" {
			return wrong("string")
		}
		s, _ := str()
		out.Text = genesys.ContentHash(s)
	case IdxSender, IdxTemplateHeaderMedia:
		if typ != "string" {
			return wrong("string")
		}
		s, _ := str()
		out.Text = strings.TrimSpace(s)
	case IdxLegalHold:
		switch typ {
		case "boolean":
			out.Text = string(bytes.TrimSpace(v))
		case "string":
			s, _ := str()
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				out.Text = "true"
			case "false":
				out.Text = "false"
			default:
				return wrong("boolean")
			}
		default:
			return wrong("boolean")
		}
	case IdxAuditTrailID:
		switch typ {
		case "string":
			s, _ := str()
			out.Text = JoinIDs([]string{s})
		case "array":
			var ids []string
			if json.Unmarshal(v, &ids) != nil {
				return wrong("array of strings")
			}
			out.Text = JoinIDs(ids)
		default:
			return wrong("string or array of strings")
		}
	}
	return out
}

// attachmentsValue reads a message's attachments from every one of
// paths present, as one set: where other fields take the first path
// present, attachments may lie in several lists at once — model
// Recordingmessagingmessage keeps media (messageMediaAttachments) and
// stickers (messageStickerAttachments) side by side, and a message may
// have both. Absent (null, an empty list) at every path is absent; any
// value unusable (attachmentIDs: its key named in why) makes the whole
// unusable, as one unusable attachment does.
func attachmentsValue(obj *msgBuf, paths [][]string) Value {
	var ids []string
	for _, path := range paths {
		v, dup, ok := lookupMsg(obj, path)
		if !ok {
			continue
		}
		key := strings.Join(path, ".")
		switch {
		case dup != nil:
			return Value{Present: true, Bad: conflict(key), Raw: both(v, dup)}
		case badText(v) != "":
			return Value{Present: true, Bad: key + ": " + badText(v), Raw: escapeText(v)}
		}
		got, why := attachmentIDs(v, jsonType(v))
		if why != "" {
			return Value{Present: true, Bad: key + ": " + why, Raw: quote(v)}
		}
		ids = append(ids, got...)
	}
	if len(ids) == 0 {
		// An empty list holds no attachment: absent, as null is.
		return Value{}
	}
	return Value{Present: true, Text: JoinIDs(ids)}
}

// attachmentIDs reads the ids of a message's attachments from v, of JSON
// type typ: an array of attachments — objects with a string "id"
// (Recordingmessagingmessage.messageMediaAttachments, model
// Messagemediaattachment) — or of id strings, or one such attachment or
// id alone. why says what is wrong with it, "" when nothing is. An
// attachment without a usable id (absent, not a string, empty, given
// twice with different values) makes the whole value unusable: the
// export holds an attachment nothing can match.
func attachmentIDs(v json.RawMessage, typ string) (ids []string, why string) {
	want := "wrong type: want an array of attachments (objects with a string id) or of id strings, got JSON " + typ
	v = bytes.TrimSpace(v)
	one := func(i int) (int, string) {
		switch {
		case i < len(v) && v[i] == '"':
			end, _, err := jsonscan.String(v, i)
			if err != nil {
				return end, want
			}
			s, ok := unquote(v[i:end])
			if s = strings.TrimSpace(s); !ok || s == "" {
				return end, "an attachment id is empty"
			}
			ids = append(ids, s)
			return end, ""
		case i < len(v) && v[i] == '{':
			var id json.RawMessage
			problem := ""
			end, err := jsonscan.Object(v, i, func(key []byte, at int) (int, error) {
				end, err := jsonscan.Skip(v, at, maxFastDepth)
				if err == nil && string(key) == "id" {
					switch {
					case id == nil:
						id = v[at:end]
					case !bytes.Equal(id, v[at:end]):
						problem = "an attachment's " + conflict("id")
					}
				}
				return end, err
			})
			switch {
			case err != nil:
				return end, want
			case problem != "":
				return end, problem
			case id == nil || jsonType(id) != "string":
				return end, "an attachment has no string id"
			}
			s, ok := unquote(id)
			if s = strings.TrimSpace(s); !ok || s == "" {
				return end, "an attachment id is empty"
			}
			ids = append(ids, s)
			return end, ""
		}
		return i, "wrong type: an attachment is a JSON " + jsonType(v[i:]) + ", not an object with a string id nor an id string"
	}
	switch typ {
	case "string", "object":
		if _, why := one(0); why != "" {
			return nil, why
		}
		return ids, ""
	case "array":
		_, err := jsonscan.Array(v, 0, func(i int) (int, error) {
			end, w := one(i)
			if w != "" {
				why = w
				return end, errBadAttachment
			}
			return end, nil
		})
		if why == "" && err != nil {
			why = want
		}
		if why != "" {
			return nil, why
		}
		return ids, ""
	}
	return nil, want
}

// errBadAttachment stops attachmentIDs's scan of an array.
var errBadAttachment = errors.New("exportfile: unusable attachment")

// JoinIDs is the comparable form of a set of ids (audit references, a
// message's attachments): trimmed, without empties or repeats, sorted,
// joined by ","; an id holding "," or `"` is written in double quotes,
// each `"` in it doubled, as a CSV field is. So the form names one set
// only — ["a,b"] is `"a,b"`, ["a", "b"] is `a,b` — and two sets are
// equal exactly when their forms are (FuzzJoinIDs), while the usual ids
// read as before. Both sides of a comparison use it.
func JoinIDs(ids []string) string {
	if len(ids) == 1 { // the usual message: one attachment, one reference
		if id := strings.TrimSpace(ids[0]); !strings.ContainsAny(id, `,"`) {
			return id
		}
	}
	clean := make([]string, 0, len(ids))
	quote := false
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			clean = append(clean, id)
			quote = quote || strings.ContainsAny(id, `,"`)
		}
	}
	slices.Sort(clean)
	clean = slices.Compact(clean)
	if !quote {
		return strings.Join(clean, ",")
	}
	var b strings.Builder
	for i, id := range clean {
		if i > 0 {
			b.WriteByte(',')
		}
		if !strings.ContainsAny(id, `,"`) {
			b.WriteString(id)
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(id, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}
