package leaf

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/millis"
)

// Leaf decoding is most of the CPU of a diff and of a verify with checks:
// encoding/json costs ≈ 7 µs per message leaf. decodeLeafFast reads the
// leaf as AppendLeaf writes it — members in RFC 8785 order, no
// whitespace, canonical integers, 64-digit hashes, `at` in TimeLayout —
// in a single pass, its strings and the detail through jsonscan. It
// answers only when it is certain: anything else (unknown, duplicate or
// misordered members, whitespace between members, nulls, lone surrogate
// escapes, odd numbers, invalid UTF-8, a value out of range, every error)
// returns ok false, and DecodeLeaf then asks decodeLeafJSON, which is the
// definition. FuzzDecodeLeaf holds the two together.

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
	// strict (CheckLeaf's fast path) also requires what RFC 8785 and the
	// format require beyond the fast path's grammar: minimal escapes,
	// lower-case hashes, a canonical detail, supersedes below 2^53, no
	// empty conversation_id, message_id or run_id. Its
	// strings are not copies but views of b (see view), valid only while
	// b is.
	strict bool
	// det is, strict, what the one pass over the detail learnt
	// (canonMessageDetail), for the strict check of the entry read.
	det strictDetail
}

// decodeLeafFast decodes leaf when it is sure to give what decodeLeafJSON
// gives; ok false means "not sure", never "invalid". Detail is a
// sub-slice of leaf (capacity clipped), not a copy.
func decodeLeafFast(leaf []byte) (e Entry, ok bool) {
	r := leafReader{b: leaf}
	return r.read()
}

// checkLeafFast reports whether leaf is certainly strict (see CheckLeaf),
// in one pass that copies nothing: the fast decoder in strict mode, then
// Validate. False means "not sure".
func checkLeafFast(leaf []byte) bool {
	r := leafReader{b: leaf, strict: true}
	e, ok := r.read()
	return ok && e.validateKeep(false, nil, &r.det) == nil
}

// read is decodeLeafFast on r.
func (r *leafReader) read() (e Entry, ok bool) {
	leaf := r.b
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
			if e.ConversationID, ok = r.str(); !ok || r.strict && e.ConversationID == "" {
				return Entry{}, false
			}
		case keyDetail:
			// AppendLeaf writes an object; encoding/json would take any
			// value (null included) as raw bytes, so others fall back.
			if r.i >= len(r.b) || r.b[r.i] != '{' {
				return Entry{}, false
			}
			end, detailOK := r.detailEnd()
			if !detailOK {
				return Entry{}, false
			}
			e.Detail = leaf[r.i:end:end]
			r.i = end
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
			if e.MessageID, ok = r.str(); !ok || r.strict && e.MessageID == "" {
				return Entry{}, false
			}
		case keyPayload:
			if !r.hash(&e.PayloadSHA256) {
				return Entry{}, false
			}
		case keyRunID:
			if e.RunID, ok = r.str(); !ok || r.strict && e.RunID == "" {
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
			if parts.supersedes, ok = r.uint(19); !ok || r.strict && parts.supersedes >= maxSafeInteger {
				return Entry{}, false
			}
			e.Supersedes = &parts.supersedes
		case keyV:
			switch {
			case r.lit("1"):
				e.V = FormatV1
			case r.lit("3"):
				e.V = FormatV3
			default:
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

// detailEnd returns the end of the detail object at r.i, read as
// jsonscan.Skip reads it or, strict, as RFC 8785 form (canonValue); strict,
// a detail of the shape exports write is also decoded in the same pass
// (r.det).
func (r *leafReader) detailEnd() (int, bool) {
	if r.strict {
		end, plain, ok := canonMessageDetail(r.b, r.i, &r.det.md)
		if ok {
			r.det.ok, r.det.plain = true, plain
			return end, true
		}
		r.det = strictDetail{}
		return canonValue(r.b, r.i, 0)
	}
	end, err := jsonscan.Skip(r.b, r.i, maxDetailDepth)
	return end, err == nil
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
// sub-slice of the input (jsonscan's fast path); esc reports that the
// string is valid but has escapes.
func (r *leafReader) rawStr() (s []byte, esc, ok bool) {
	end, esc, err := jsonscan.String(r.b, r.i)
	if err != nil || esc {
		return nil, esc && err == nil, false
	}
	s = r.b[r.i+1 : end-1]
	r.i = end
	return s, false, true
}

// str reads a string value. A lone surrogate escape fails (encoding/json
// would make it U+FFFD: the reference decides).
func (r *leafReader) str() (string, bool) {
	start := r.i
	s, esc, ok := r.rawStr()
	if ok {
		if r.strict {
			return view(s), true
		}
		return string(s), true
	}
	if !esc {
		return "", false
	}
	buf, end, err := jsonscan.AppendString(make([]byte, 0, 64), r.b, r.i)
	if err != nil {
		return "", false
	}
	if r.strict && !bytes.Equal(jsonscan.AppendStringRFC8785(make([]byte, 0, end-start), string(buf)), r.b[start:end]) {
		return "", false // escapes that are not RFC 8785's minimal ones
	}
	r.i = end
	return string(buf), true
}

// view is the bytes of b as a string without copying them: for the
// strict check, whose entry lives only while the leaf bytes do.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// kind reads the kind, without allocating for custody's own kinds.
func (r *leafReader) kind() (string, bool) {
	s, _, ok := r.rawStr()
	if !ok {
		return "", false // escapes too: custody's kinds have none
	}
	return kindName(s), true
}

// hash reads a string of exactly 64 hex digits into h. (An empty string,
// which decodeLeafJSON reads as the zero hash, falls back.)
func (r *leafReader) hash(h *hashchain.Hash) bool {
	const n = 64
	if len(r.b)-r.i < n+2 || r.b[r.i] != '"' || r.b[r.i+n+1] != '"' {
		return false
	}
	src := r.b[r.i+1 : r.i+1+n]
	t := &hexDigits
	if r.strict {
		t = &lowerHexDigits // custody writes hashes in lower case
	}
	var bad byte
	for k := range h {
		hi, lo := t[src[2*k]], t[src[2*k+1]]
		bad |= hi | lo
		h[k] = hi<<4 | lo
	}
	if bad > 0xf {
		return false
	}
	r.i += n + 2
	return true
}

// hexDigits maps a hex digit (either case) to its value, anything else
// to 0xff (jsonscan.Unhex as a table); lowerHexDigits the same for
// lower-case digits only.
var hexDigits, lowerHexDigits = func() (t, l [256]byte) {
	for c := range t {
		t[c] = jsonscan.Unhex(byte(c))
		l[c] = t[c]
		if c >= 'A' && c <= 'F' {
			l[c] = 0xff
		}
	}
	return t, l
}()

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
	t, ok := millis.Parse(r.b[r.i+1 : r.i+1+n])
	if ok {
		r.i += n + 2
	}
	return t, ok
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

// maxDetailDepth bounds the detail's nesting; deeper details fall back
// (encoding/json allows 10,000 levels).
const maxDetailDepth = 64
