package leaf

import (
	"encoding/binary"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
)

// Leaf decoding is most of the CPU of a diff and of a verify with checks:
// encoding/json costs ≈ 7 µs per message leaf. decodeLeafFast reads the
// leaf as AppendLeaf writes it — members in RFC 8785 order, no
// whitespace, canonical integers, 64-digit hashes, `at` in TimeLayout —
// in a single pass. It answers only when it is certain: anything else
// (unknown, duplicate or misordered members, whitespace, nulls, escapes
// beyond RFC 8785's, odd numbers, invalid UTF-8, a value out of range,
// every error) returns ok false, and DecodeLeaf then asks decodeLeafJSON,
// which is the definition. FuzzDecodeLeaf holds the two together.

// leafKeys are the members of the entry object in RFC 8785 order. The
// fast path accepts them only in this order, each at most once, which also
// rules out duplicates (encoding/json would keep the last).
var leafKeys = [...]string{
	"at", "compliance", "conversation_id", "detail", "evidence_sha256", "kind",
	"matter", "message_id", "payload_sha256", "run_id", "source", "supersedes", "v",
}

const (
	keyAt = iota
	keyCompliance
	keyConversationID
	keyDetail
	keyEvidence
	keyKind
	keyMatter
	keyMessageID
	keyPayload
	keyRunID
	keySource
	keySupersedes
	keyV
)

// leafParts holds an entry's pointed-to parts in one allocation: the
// decoded Compliance, Source, legal hold, supersedes and the first audit
// refs.
type leafParts struct {
	compliance Compliance
	source     Source
	hold       bool
	supersedes uint64
	refs       [2]string
}

// leafReader is a cursor over the leaf bytes.
type leafReader struct {
	b []byte
	i int
}

// decodeLeafFast decodes leaf when it is sure to give what decodeLeafJSON
// gives; ok false means "not sure", never "invalid". Detail is a
// sub-slice of leaf (capacity clipped), not a copy.
func decodeLeafFast(leaf []byte) (e Entry, ok bool) {
	r := leafReader{b: leaf}
	if !r.lit(`{`) {
		return Entry{}, false
	}
	var parts *leafParts
	next, seen := 0, 0 // next: index into leafKeys; seen: bit per key
	for {
		k, ok := r.key(next)
		if !ok {
			return Entry{}, false
		}
		next, seen = k+1, seen|1<<k
		switch k {
		case keyAt:
			if e.At, ok = r.time(); !ok {
				return Entry{}, false
			}
		case keyCompliance:
			if parts == nil {
				parts = new(leafParts)
			}
			if !r.compliance(parts) {
				return Entry{}, false
			}
			e.Compliance = &parts.compliance
		case keyConversationID:
			if e.ConversationID, ok = r.str(); !ok {
				return Entry{}, false
			}
		case keyDetail:
			// AppendLeaf writes an object; encoding/json would take any
			// value (null included) as raw bytes, so others fall back.
			start := r.i
			if r.i >= len(r.b) || r.b[r.i] != '{' || !r.skipValue(0) {
				return Entry{}, false
			}
			e.Detail = leaf[start:r.i:r.i]
		case keyEvidence:
			if !r.hash(&e.EvidenceSHA256) {
				return Entry{}, false
			}
		case keyKind:
			if e.Kind, ok = r.kind(); !ok {
				return Entry{}, false
			}
		case keyMatter:
			if e.Matter, ok = r.str(); !ok {
				return Entry{}, false
			}
		case keyMessageID:
			if e.MessageID, ok = r.str(); !ok {
				return Entry{}, false
			}
		case keyPayload:
			if !r.hash(&e.PayloadSHA256) {
				return Entry{}, false
			}
		case keyRunID:
			if e.RunID, ok = r.str(); !ok {
				return Entry{}, false
			}
		case keySource:
			if parts == nil {
				parts = new(leafParts)
			}
			if !r.source(&parts.source) {
				return Entry{}, false
			}
			e.Source = &parts.source
		case keySupersedes:
			if parts == nil {
				parts = new(leafParts)
			}
			if parts.supersedes, ok = r.uint(19); !ok {
				return Entry{}, false
			}
			e.Supersedes = &parts.supersedes
		case keyV:
			if !r.lit("1") {
				return Entry{}, false
			}
		}
		if r.lit(",") {
			continue
		}
		if !r.lit("}") || r.i != len(r.b) {
			return Entry{}, false
		}
		break
	}
	const required = 1<<keyAt | 1<<keyKind | 1<<keyMatter | 1<<keyV
	if seen&required != required {
		return Entry{}, false
	}
	e.Leaf = leaf
	return e, true
}

// lit consumes s if the input continues with it.
func (r *leafReader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// quotedKeys are leafKeys as they appear in a leaf: `"at":`.
var quotedKeys = func() (q [len(leafKeys)]string) {
	for k, name := range leafKeys {
		q[k] = `"` + name + `":`
	}
	return q
}()

// key reads `"name":` for one of leafKeys[from:] and returns its index.
// Anything else — unknown, out of order, duplicate, escaped, in other
// case — is not a key it knows.
func (r *leafReader) key(from int) (int, bool) {
	for k := from; k < len(quotedKeys); k++ {
		if r.lit(quotedKeys[k]) {
			return k, true
		}
	}
	return 0, false
}

// rawStr reads a string without escapes and returns its contents, a
// sub-slice of the input; esc reports that it stopped at an escape.
func (r *leafReader) rawStr() (s []byte, esc, ok bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false, false
	}
	start := r.i + 1
	j := scan(r.b, start, true)
	ascii := true
	for j < len(r.b) {
		switch c := r.b[j]; {
		case c == '"':
			s = r.b[start:j]
			// encoding/json replaces invalid UTF-8 with U+FFFD.
			if !ascii && !utf8.Valid(s) {
				return nil, false, false
			}
			r.i = j + 1
			return s, false, true
		case c == '\\':
			return nil, true, false
		case c < 0x20:
			return nil, false, false
		}
		ascii = false // c >= utf8.RuneSelf
		j = scan(r.b, j+1, false)
	}
	return nil, false, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scan returns the index of the first byte from b[i] on that can end or
// complicate a string: the quotation mark, the reverse solidus, a control
// character, and with nonASCII also any byte from 0x80 up; len(b) if none.
// It tests eight bytes at a time, and the rest one by one.
func scan(b []byte, i int, nonASCII bool) int {
	high := uint64(0)
	if nonASCII {
		high = highs
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^('"'*ones), x^('\\'*ones)
		// A zero byte in q or bs, a byte below 0x20 in x: the classic
		// "has zero byte" and "has byte less than" tests, exact for "any".
		if ((q-ones)&^q|(bs-ones)&^bs|(x-0x20*ones)&^x)&highs|x&high != 0 {
			break
		}
	}
	stop := &skipStop
	if nonASCII {
		stop = &strStop
	}
	for i < len(b) && !stop[b[i]] {
		i++
	}
	return i
}

// strStop marks the bytes a string scan stops at: the quotation mark, the
// reverse solidus, control characters and non-ASCII bytes.
var strStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// str reads a string value.
func (r *leafReader) str() (string, bool) {
	s, esc, ok := r.rawStr()
	if ok {
		return string(s), true
	}
	if esc {
		return r.escapedStr()
	}
	return "", false
}

// escapedStr reads a string with escapes: the short ones, \/, and \uXXXX
// outside the surrogates (pairs and lone surrogates go to encoding/json).
func (r *leafReader) escapedStr() (string, bool) {
	j := r.i + 1
	buf := make([]byte, 0, 64)
	for j < len(r.b) {
		c := r.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", false
			}
			r.i = j + 1
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return "", false
		}
		switch e := r.b[j+1]; {
		case e != 'u':
			d, ok := shortEscape(e)
			if !ok {
				return "", false
			}
			buf = append(buf, d)
		default:
			if j+6 > len(r.b) {
				return "", false
			}
			var u rune
			for _, h := range r.b[j+2 : j+6] {
				v := unhex[h]
				if v > 0xf {
					return "", false
				}
				u = u<<4 | rune(v)
			}
			if utf16.IsSurrogate(u) {
				return "", false
			}
			buf = utf8.AppendRune(buf, u)
			j += 4
		}
		j += 2
	}
	return "", false
}

// kind reads the kind, without allocating for custody's own kinds.
func (r *leafReader) kind() (string, bool) {
	s, _, ok := r.rawStr()
	if !ok {
		return "", false // escapes too: custody's kinds have none
	}
	switch string(s) {
	case KindMessage:
		return KindMessage, true
	case KindConversation:
		return KindConversation, true
	case KindRun:
		return KindRun, true
	case KindDiff:
		return KindDiff, true
	case KindRefetch:
		return KindRefetch, true
	case KindHold:
		return KindHold, true
	}
	return string(s), true
}

// unhex maps a hex digit (either case, as hex.Decode takes) to its value,
// anything else to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	for i, c := range "ABCDEF" {
		t[c] = byte(10 + i)
	}
	return t
}()

// hash reads a string of exactly 64 hex digits into h. (An empty string,
// which decodeLeafJSON reads as the zero hash, falls back.)
func (r *leafReader) hash(h *hashchain.Hash) bool {
	const n = 64
	if len(r.b)-r.i < n+2 || r.b[r.i] != '"' || r.b[r.i+n+1] != '"' {
		return false
	}
	src := r.b[r.i+1 : r.i+1+n]
	var bad byte
	for k := range h {
		hi, lo := unhex[src[2*k]], unhex[src[2*k+1]]
		bad |= hi | lo
		h[k] = hi<<4 | lo
	}
	if bad > 0xf {
		return false
	}
	r.i += n + 2
	return true
}

// uint reads an integer without sign, leading zeros, fraction or exponent,
// of at most maxDigits digits (so it cannot overflow).
func (r *leafReader) uint(maxDigits int) (uint64, bool) {
	start := r.i
	var v uint64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		v = v*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	n := r.i - start
	if n == 0 || n > maxDigits || n > 1 && r.b[start] == '0' {
		return 0, false
	}
	return v, true
}

// time reads `at`: "YYYY-MM-DDTHH:MM:SS.mmmZ", the values in range, which
// is what time.Parse(TimeLayout, ·) accepts in this fixed-width form.
func (r *leafReader) time() (time.Time, bool) {
	const n = len(TimeLayout)
	if len(r.b)-r.i < n+2 || r.b[r.i] != '"' || r.b[r.i+n+1] != '"' {
		return time.Time{}, false
	}
	s := r.b[r.i+1 : r.i+1+n]
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		v := 0
		for _, c := range s[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	ms, ok7 := num(20, 23)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	r.i += n + 2
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// compliance reads {"audit_refs":[...],"legal_hold":B,"original_timestamp":S}.
func (r *leafReader) compliance(p *leafParts) bool {
	c := &p.compliance
	if !r.lit(`{"audit_refs":[`) {
		return false
	}
	n := 0
	if !r.lit("]") {
		for {
			s, ok := r.str()
			if !ok {
				return false
			}
			if n < len(p.refs) {
				p.refs[n] = s
			} else {
				if n == len(p.refs) {
					c.AuditRefs = append(make([]string, 0, 2*n), p.refs[:]...)
				}
				c.AuditRefs = append(c.AuditRefs, s)
			}
			n++
			if r.lit("]") {
				break
			}
			if !r.lit(",") {
				return false
			}
		}
	}
	if n <= len(p.refs) {
		c.AuditRefs = p.refs[:n:n] // never nil: encoding/json gives [] for []
	}
	if !r.lit(`,"legal_hold":`) {
		return false
	}
	switch {
	case r.lit("true"):
		p.hold = true
		c.LegalHold = &p.hold
	case r.lit("false"):
		c.LegalHold = &p.hold
	case r.lit("null"):
	default:
		return false
	}
	if !r.lit(`,"original_timestamp":`) {
		return false
	}
	var ok bool
	if c.OriginalTimestamp, ok = r.str(); !ok {
		return false
	}
	return r.lit("}")
}

// source reads {"correlation_id":S,"method":S,"path":S,"status":N}.
func (r *leafReader) source(s *Source) bool {
	var ok bool
	if !r.lit(`{"correlation_id":`) {
		return false
	}
	if s.CorrelationID, ok = r.str(); !ok || !r.lit(`,"method":`) {
		return false
	}
	switch {
	case r.lit(`"POST"`):
		s.Method = "POST"
	case r.lit(`"GET"`):
		s.Method = "GET"
	default:
		if s.Method, ok = r.str(); !ok {
			return false
		}
	}
	if !r.lit(`,"path":`) {
		return false
	}
	if s.Path, ok = r.str(); !ok || !r.lit(`,"status":`) {
		return false
	}
	status, ok := r.uint(9)
	if !ok {
		return false
	}
	s.Status = int(status)
	return r.lit("}")
}

// maxDetailDepth bounds skipValue's recursion; deeper details fall back
// (encoding/json allows 10,000 levels).
const maxDetailDepth = 64

// skipValue passes over one JSON value without whitespace, checking it as
// encoding/json's scanner does: any valid number, strings with any valid
// escape and any bytes from 0x20 up (a RawMessage keeps them as they are).
func (r *leafReader) skipValue(depth int) bool {
	if r.i >= len(r.b) || depth > maxDetailDepth {
		return false
	}
	switch c := r.b[r.i]; {
	case c == '{':
		r.i++
		if r.lit("}") {
			return true
		}
		for {
			if !r.skipString() || !r.lit(":") || !r.skipValue(depth+1) {
				return false
			}
			if r.lit("}") {
				return true
			}
			if !r.lit(",") {
				return false
			}
		}
	case c == '[':
		r.i++
		if r.lit("]") {
			return true
		}
		for {
			if !r.skipValue(depth + 1) {
				return false
			}
			if r.lit("]") {
				return true
			}
			if !r.lit(",") {
				return false
			}
		}
	case c == '"':
		return r.skipString()
	case c == 't':
		return r.lit("true")
	case c == 'f':
		return r.lit("false")
	case c == 'n':
		return r.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return r.skipNumber()
	}
	return false
}

func (r *leafReader) skipString() bool {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return false
	}
	for j := r.i + 1; j < len(r.b); j++ {
		if j = scan(r.b, j, false); j == len(r.b) {
			return false
		}
		switch c := r.b[j]; {
		case c == '"':
			r.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= len(r.b) {
				return false
			}
			switch r.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+6 > len(r.b) {
					return false
				}
				for _, h := range r.b[j+2 : j+6] {
					if unhex[h] > 0xf {
						return false
					}
				}
				j += 5
			default:
				return false
			}
		}
	}
	return false
}

// skipStop marks the bytes skipString stops at: the quotation mark, the
// reverse solidus and control characters.
var skipStop = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20
	}
	return t
}()

// skipNumber passes over -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (r *leafReader) skipNumber() bool {
	digits := func() int {
		start := r.i
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
		}
		return r.i - start
	}
	r.lit("-")
	if r.lit("0") {
		if r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			return false
		}
	} else if digits() == 0 {
		return false
	}
	if r.lit(".") && digits() == 0 {
		return false
	}
	if r.lit("e") || r.lit("E") {
		if !r.lit("+") {
			r.lit("-")
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
