package exportfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// Indexes of the compliance fields in Message.Fields, in
// finding.ComplianceFields order.
const (
	IdxTimestamp = iota
	IdxContent
	IdxSender
	IdxLegalHold
	IdxAuditTrailID
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
	// audit ids as JoinIDs gives them.
	Text string
	// T and Digits are the parsed timestamp and its fractional digits.
	T      time.Time
	Digits int
	// Bad, when set, says why the value is unusable (wrong type, not a
	// timestamp); Raw is then a short quote of it.
	Bad string
	Raw string
}

// Message is one exported message, reduced to what is compared.
type Message struct {
	Conv, ID string
	NoID     string // why the message has no usable id
	File     string
	Array    string // the messages array's key; "" for a JSON Lines line
	Pos      int    // index in the array, or line number
	Fields   [NumFields]Value
}

// Where says where in its file a message is, for findings.
func (r *Message) Where() string {
	if r.Array == "" {
		return "line " + strconv.Itoa(r.Pos)
	}
	return r.Array + "[" + strconv.Itoa(r.Pos) + "]"
}

// msgType decodes message objects into a struct made for the policy, with
// one json.RawMessage field per top-level key its paths use: unlike a map,
// keys nobody asked for cost no allocation. (encoding/json matches struct
// keys case-insensitively, so "ID" also fills "id"; an exact match wins.)
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
				Type: reflect.TypeFor[json.RawMessage](),
				Tag:  reflect.StructTag(`json:` + strconv.Quote(k)),
			})
		}
	}
	mt.typ = reflect.StructOf(fields)
	return mt
}

// msgBuf is a reusable buffer for one decoded message object: decoding
// into the same struct again reuses its fields' byte slices (a RawMessage
// appends into its old storage), so a file's messages cost no per-field
// allocation. Whatever is extracted from it is copied.
type msgBuf struct {
	mt     *msgType
	v      reflect.Value   // *struct
	pp     reflect.Value   // **struct: JSON null sets *pp to nil, which a *struct cannot show
	fields []reflect.Value // the struct's fields
	target any             // pp as an interface, for Decode
}

func (mt *msgType) new() *msgBuf {
	m := &msgBuf{mt: mt, v: reflect.New(mt.typ), pp: reflect.New(reflect.PointerTo(mt.typ))}
	for i := range mt.typ.NumField() {
		m.fields = append(m.fields, m.v.Elem().Field(i))
	}
	m.target = m.pp.Interface()
	return m
}

// reset readies the buffer for the next message: absent keys must read as
// absent, and a JSON null before may have cleared the pointer.
func (m *msgBuf) reset() {
	m.pp.Elem().Set(m.v)
	for _, f := range m.fields {
		f.SetLen(0)
	}
}

// null reports whether the decoded value was JSON null.
func (m *msgBuf) null() bool { return m.pp.Elem().IsNil() }

// top returns a top-level key's value; present values are never empty.
func (m *msgBuf) top(k string) (json.RawMessage, bool) {
	i, ok := m.mt.index[k]
	if !ok {
		return nil, false
	}
	b := m.fields[i].Bytes()
	return b, len(b) > 0
}

// lookupMsg follows path from a message; JSON null counts as absent.
func lookupMsg(m *msgBuf, path []string) (json.RawMessage, bool) {
	v, ok := m.top(path[0])
	if !ok || isNull(v) {
		return nil, false
	}
	if len(path) == 1 {
		return v, true
	}
	var next map[string]json.RawMessage
	if json.Unmarshal(v, &next) != nil {
		return nil, false
	}
	return lookup(next, path[1:])
}

func lookupMsgAny(m *msgBuf, paths [][]string) (json.RawMessage, bool) {
	for _, p := range paths {
		if v, ok := lookupMsg(m, p); ok {
			return v, true
		}
	}
	return nil, false
}

// unquote reads a JSON string: through jsonscan, which reads a string
// without escapes as it is; encoding/json only for what jsonscan refuses
// and encoding/json reads with replacement characters (invalid UTF-8, a
// lone surrogate escape) or refuses too.
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
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// lookup follows path through nested objects; JSON null counts as absent.
func lookup(obj map[string]json.RawMessage, path []string) (json.RawMessage, bool) {
	for i, seg := range path {
		v, ok := obj[seg]
		if !ok || isNull(v) {
			return nil, false
		}
		if i == len(path)-1 {
			return v, true
		}
		var next map[string]json.RawMessage
		if json.Unmarshal(v, &next) != nil {
			return nil, false
		}
		obj = next
	}
	return nil, false
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
	if v, ok := lookupMsgAny(obj, sf.msgID); ok {
		id, good := idString(v)
		if good {
			r.ID = id
		} else {
			r.NoID = fmt.Sprintf("message id is a JSON %s: %s", jsonType(v), quote(v))
		}
	} else {
		r.NoID = "message has no id"
	}
	for i := range NumFields {
		v, ok := lookupMsgAny(obj, sf.fields[i])
		if !ok {
			continue
		}
		r.Fields[i] = parseValue(i, v)
	}
	return r
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
	case IdxSender:
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

// JoinIDs is the comparable form of a set of audit references: trimmed,
// sorted, without empties or repeats, joined by ",". Both sides of a
// comparison use it.
func JoinIDs(ids []string) string {
	clean := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			clean = append(clean, id)
		}
	}
	slices.Sort(clean)
	return strings.Join(slices.Compact(clean), ",")
}
