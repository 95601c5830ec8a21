package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
)

// Indexes of the compliance fields in a record, in finding.ComplianceFields order.
const (
	fTimestamp = iota
	fContent
	fSender
	fLegalHold
	fAuditTrailID
	nFields
)

// value is one compliance field as found in an exported message.
type value struct {
	present bool
	// text is the comparable form: the timestamp as written, the content's
	// hash, the trimmed sender, "true"/"false", sorted audit ids joined by ",".
	text string
	// t and digits are the parsed timestamp and its fractional digits.
	t      time.Time
	digits int
	// bad, when set, says why the value is unusable (wrong type, not a
	// timestamp); raw is then a short quote of it.
	bad string
	raw string
}

// record is one exported message, reduced to what is compared.
type record struct {
	conv, msg string
	noMsgID   string // why the message has no usable id
	file      string
	array     string // the messages array's key; "" for a JSON Lines line
	pos       int    // index in the array, or line number
	fields    [nFields]value
}

// where says where in its file a message is, for findings.
func (r *record) where() string {
	if r.array == "" {
		return "line " + strconv.Itoa(r.pos)
	}
	return r.array + "[" + strconv.Itoa(r.pos) + "]"
}

// shapeFields is a ShapePolicy compiled for lookups.
type shapeFields struct {
	name    string
	msgID   [][]string
	conv    [][]string
	fields  [nFields][][]string
	msgKey  string
	metaSfx string
	msg     *msgType
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

// message is a reusable buffer for one decoded message object: decoding
// into the same struct again reuses its fields' byte slices (a RawMessage
// appends into its old storage), so a file's messages cost no per-field
// allocation. Whatever is extracted from it is copied.
type message struct {
	mt     *msgType
	v      reflect.Value   // *struct
	pp     reflect.Value   // **struct: JSON null sets *pp to nil, which a *struct cannot show
	fields []reflect.Value // the struct's fields
	target any             // pp as an interface, for Decode
}

func (mt *msgType) new() *message {
	m := &message{mt: mt, v: reflect.New(mt.typ), pp: reflect.New(reflect.PointerTo(mt.typ))}
	for i := range mt.typ.NumField() {
		m.fields = append(m.fields, m.v.Elem().Field(i))
	}
	m.target = m.pp.Interface()
	return m
}

// reset readies the buffer for the next message: absent keys must read as
// absent, and a JSON null before may have cleared the pointer.
func (m *message) reset() {
	m.pp.Elem().Set(m.v)
	for _, f := range m.fields {
		f.SetLen(0)
	}
}

// null reports whether the decoded value was JSON null.
func (m *message) null() bool { return m.pp.Elem().IsNil() }

// top returns a top-level key's value; present values are never empty.
func (m *message) top(k string) (json.RawMessage, bool) {
	i, ok := m.mt.index[k]
	if !ok {
		return nil, false
	}
	b := m.fields[i].Bytes()
	return b, len(b) > 0
}

// lookupMsg follows path from a message; JSON null counts as absent.
func lookupMsg(m *message, path []string) (json.RawMessage, bool) {
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

func lookupMsgAny(m *message, paths [][]string) (json.RawMessage, bool) {
	for _, p := range paths {
		if v, ok := lookupMsg(m, p); ok {
			return v, true
		}
	}
	return nil, false
}

// unquote reads a JSON string, without a full decode when it holds no
// escapes (the common case).
func unquote(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		inner := v[1 : len(v)-1]
		if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) && !hasControl(inner) {
			return string(inner), true
		}
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

type compiledPolicy struct {
	p      *Policy
	shapes map[string]*shapeFields
	// docConvKeys are the top-level keys that may hold a document's
	// conversation id, for either document shape.
	docConvKeys []string
	// meta decodes metadata files: only their conversation id is read.
	meta *msgType
}

func compilePolicy(p *Policy) (*compiledPolicy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cp := &compiledPolicy{p: p, shapes: map[string]*shapeFields{}}
	split := func(paths []string) [][]string {
		out := make([][]string, 0, len(paths))
		for _, s := range paths {
			out = append(out, strings.Split(s, "."))
		}
		return out
	}
	for name, sp := range p.Shapes {
		sf := &shapeFields{name: name, msgID: split(sp.Fields[finding.FieldMessageID]), conv: split(sp.ConversationID), msgKey: sp.Messages, metaSfx: sp.MetadataSuffix}
		for i, f := range finding.ComplianceFields {
			sf.fields[i] = split(sp.Fields[f])
		}
		lists := append([][][]string{sf.msgID}, sf.fields[:]...)
		if name == ShapeJSONL {
			lists = append(lists, sf.conv)
		}
		sf.msg = newMsgType(lists...)
		cp.shapes[name] = sf
		if name != ShapeJSONL {
			for _, k := range sp.ConversationID {
				if !slices.Contains(cp.docConvKeys, k) {
					cp.docConvKeys = append(cp.docConvKeys, k)
				}
			}
		}
	}
	cp.meta = newMsgType(cp.shapes[ShapeGenesys].conv)
	return cp, nil
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

// makeRecord extracts what is compared from one message object.
func makeRecord(obj *message, sf *shapeFields) record {
	var r record
	if v, ok := lookupMsgAny(obj, sf.msgID); ok {
		id, good := idString(v)
		if good {
			r.msg = id
		} else {
			r.noMsgID = fmt.Sprintf("message id is a JSON %s: %s", jsonType(v), quote(v))
		}
	} else {
		r.noMsgID = "message has no id"
	}
	for i := range nFields {
		v, ok := lookupMsgAny(obj, sf.fields[i])
		if !ok {
			continue
		}
		r.fields[i] = parseValue(i, v)
	}
	return r
}

func parseValue(field int, v json.RawMessage) value {
	out := value{present: true}
	typ := jsonType(v)
	wrong := func(want string) value {
		out.bad = fmt.Sprintf("wrong type: want %s, got JSON %s", want, typ)
		out.raw = quote(v)
		return out
	}
	str := func() (string, bool) { return unquote(v) }
	switch field {
	case fTimestamp:
		switch typ {
		case "string":
			s, _ := str()
			t, digits, err := genesys.ParseTimestamp(strings.TrimSpace(s))
			if err != nil {
				out.bad = "not an RFC 3339 timestamp"
				out.raw = s
				return out
			}
			out.text, out.t, out.digits = s, t, digits
		case "number":
			// Epoch numbers: milliseconds when large enough, else seconds.
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				out.bad = "not an integer epoch timestamp"
				out.raw = quote(v)
				return out
			}
			out.text = string(bytes.TrimSpace(v))
			if n >= 1e11 || n <= -1e11 {
				out.t, out.digits = time.UnixMilli(n).UTC(), 3
			} else {
				out.t, out.digits = time.Unix(n, 0).UTC(), 0
			}
		default:
			return wrong("string")
		}
	case fContent:
		if typ != "string" {
			return wrong("string")
		}
		s, _ := str()
		out.text = genesys.ContentHash(s)
	case fSender:
		if typ != "string" {
			return wrong("string")
		}
		s, _ := str()
		out.text = strings.TrimSpace(s)
	case fLegalHold:
		switch typ {
		case "boolean":
			out.text = string(bytes.TrimSpace(v))
		case "string":
			s, _ := str()
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				out.text = "true"
			case "false":
				out.text = "false"
			default:
				return wrong("boolean")
			}
		default:
			return wrong("boolean")
		}
	case fAuditTrailID:
		switch typ {
		case "string":
			s, _ := str()
			out.text = joinIDs([]string{s})
		case "array":
			var ids []string
			if json.Unmarshal(v, &ids) != nil {
				return wrong("array of strings")
			}
			out.text = joinIDs(ids)
		default:
			return wrong("string or array of strings")
		}
	}
	return out
}

// joinIDs is the comparable form of a set of audit references.
func joinIDs(ids []string) string {
	clean := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			clean = append(clean, id)
		}
	}
	slices.Sort(clean)
	return strings.Join(slices.Compact(clean), ",")
}
