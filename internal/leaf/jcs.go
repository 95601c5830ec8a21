package leaf

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// CanonicalDetail returns the RFC 8785 form of a detail object. Details
// are small objects of strings, booleans and numbers; for those it parses
// and re-serialises directly, which is several times faster than the
// general canonicalizer (a number other than a safe integer is written
// by the reference's own number formatter: numberJCS). Anything else —
// numbers beyond the double range, supplementary-plane keys (whose UTF-16
// order differs from byte order), and every syntax error — goes to
// hashchain.Canonicalize, which is the definition. FuzzCanonicalDetail
// holds the two together.
func CanonicalDetail(raw []byte) ([]byte, error) {
	// Details written by EncodeDetail, or by encoding/json from maps of
	// strings and integers, are usually canonical already: then checking
	// is all there is to do.
	if isCanonical(raw) {
		return raw, nil
	}
	if out, ok := appendJCS(make([]byte, 0, len(raw)), raw); ok {
		return out, nil
	}
	if v, ok := parseJCS(raw); ok {
		return v.appendTo(make([]byte, 0, len(raw))), nil
	}
	return hashchain.Canonicalize(raw)
}

// maxDepth bounds both fast paths' nesting; deeper details go to the
// general canonicalizer.
const maxDepth = 64

// jsonValue is a parsed JSON value of the fast path.
type jsonValue struct {
	kind    byte   // '{', '[', '"', 'n' (number or literal: raw text)
	text    string // string contents (decoded), or the literal/number text
	members []jsonMember
	items   []jsonValue
}

type jsonMember struct {
	key string
	val jsonValue
}

// parseJCS parses a whole document in the fast path's subset; ok false
// means "not in the subset", never "invalid".
func parseJCS(in []byte) (jsonValue, bool) {
	v, i, ok := jcsValue(in, jsonscan.Space(in, 0), 0)
	return v, ok && jsonscan.Space(in, i) == len(in)
}

func jcsValue(in []byte, i, depth int) (jsonValue, int, bool) {
	if i >= len(in) || depth > maxDepth {
		return jsonValue{}, i, false
	}
	switch c := in[i]; {
	case c == '{':
		v := jsonValue{kind: '{'}
		end, err := jsonscan.Object(in, i, func(key []byte, at int) (int, error) {
			if bytes.IndexFunc(key, func(r rune) bool { return r >= 0x10000 }) >= 0 {
				return at, errNotFast // UTF-16 order differs from byte order
			}
			val, end, ok := jcsValue(in, at, depth+1)
			if !ok {
				return end, errNotFast
			}
			v.members = append(v.members, jsonMember{key: string(key), val: val})
			return end, nil
		})
		if err != nil {
			return jsonValue{}, end, false
		}
		// Below U+10000, UTF-16 code unit order is code point order, which
		// is UTF-8 byte order.
		slices.SortFunc(v.members, func(a, b jsonMember) int { return strings.Compare(a.key, b.key) })
		for k := 1; k < len(v.members); k++ {
			if v.members[k].key == v.members[k-1].key {
				return jsonValue{}, end, false // duplicate: not I-JSON
			}
		}
		return v, end, true
	case c == '[':
		v := jsonValue{kind: '['}
		end, err := jsonscan.Array(in, i, func(at int) (int, error) {
			item, end, ok := jcsValue(in, at, depth+1)
			if !ok {
				return end, errNotFast
			}
			v.items = append(v.items, item)
			return end, nil
		})
		return v, end, err == nil
	case c == '"':
		s, end, err := jsonscan.AppendString(nil, in, i)
		return jsonValue{kind: '"', text: string(s)}, end, err == nil
	case c == 't' || c == 'f' || c == 'n':
		end, err := jsonscan.Literal(in, i)
		return jsonValue{kind: 'n', text: string(in[i:end])}, end, err == nil
	case c == '-' || c >= '0' && c <= '9':
		if end, ok := safeInteger(in, i); ok {
			return jsonValue{kind: 'n', text: string(in[i:end])}, end, true
		}
		s, end, ok := numberJCS(in, i)
		return jsonValue{kind: 'n', text: s}, end, ok
	}
	return jsonValue{}, i, false
}

// errNotFast stops an iteration the fast path cannot finish.
var errNotFast = &jsonscan.SyntaxError{What: "outside the fast path", Err: jsonscan.ErrSyntax}

// safeInteger reads a number at in[i] and reports whether it is one that
// ES6 number formatting prints back unchanged: no fraction or exponent, no
// leading zeros, not -0, |n| < 2^53.
func safeInteger(in []byte, i int) (int, bool) {
	end, err := jsonscan.Number(in, i)
	if err != nil {
		return end, false
	}
	text := in[i:end]
	digits := text
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > 16 || bytes.ContainsAny(digits, ".eE") {
		return end, false
	}
	v, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil || v >= maxSafeInteger || v <= -maxSafeInteger || string(text) == "-0" {
		return end, false
	}
	return end, true
}

func (v *jsonValue) appendTo(b []byte) []byte {
	switch v.kind {
	case '{':
		b = append(b, '{')
		for i := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonscan.AppendStringRFC8785(b, v.members[i].key)
			b = append(b, ':')
			b = v.members[i].val.appendTo(b)
		}
		return append(b, '}')
	case '[':
		b = append(b, '[')
		for i := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.items[i].appendTo(b)
		}
		return append(b, ']')
	case '"':
		return jsonscan.AppendStringRFC8785(b, v.text)
	default:
		return append(b, v.text...)
	}
}

// isCanonical reports whether a JSON text is already exactly in RFC 8785
// form, within the fast path's subset: no whitespace, members sorted with
// unique keys that need no escaping, minimal string escapes, integers
// below 2^53. It allocates nothing for strings without escapes. A false
// answer only means "not sure"; the caller then canonicalizes.
func isCanonical(in []byte) bool {
	end, ok := canonValue(in, 0, 0)
	return ok && end == len(in)
}

func canonValue(in []byte, i, depth int) (int, bool) {
	if i >= len(in) || depth > maxDepth {
		return i, false
	}
	switch c := in[i]; {
	case c == '{':
		i++
		if i < len(in) && in[i] == '}' {
			return i + 1, true
		}
		var prev []byte
		for {
			// A key needs no escapes and no characters beyond U+FFFF (no
			// 4-byte UTF-8), so that byte order is RFC 8785's UTF-16 order.
			end, esc, err := jsonscan.String(in, i)
			if err != nil || esc {
				return i, false
			}
			key := in[i+1 : end-1]
			if prev != nil && bytes.Compare(prev, key) >= 0 || beyondBMP(key) {
				return i, false
			}
			prev = key
			if end >= len(in) || in[end] != ':' {
				return end, false
			}
			var ok bool
			if i, ok = canonValue(in, end+1, depth+1); !ok || i >= len(in) {
				return i, false
			}
			switch in[i] {
			case ',':
				i++
			case '}':
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '[':
		i++
		if i < len(in) && in[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = canonValue(in, i, depth+1); !ok || i >= len(in) {
				return i, false
			}
			switch in[i] {
			case ',':
				i++
			case ']':
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '"':
		end, esc, err := jsonscan.String(in, i)
		if err != nil {
			return i, false
		}
		if esc {
			// Minimal escaping: the value escaped again by RFC 8785's rule
			// is the same bytes.
			var buf [128]byte
			s, _, err := jsonscan.AppendString(buf[:0], in, i)
			if err != nil || !bytes.Equal(jsonscan.AppendStringRFC8785(make([]byte, 0, end-i), string(s)), in[i:end]) {
				return i, false
			}
		}
		return end, true
	case c == 't' || c == 'f' || c == 'n':
		end, err := jsonscan.Literal(in, i)
		return end, err == nil
	case c == '-' || c >= '0' && c <= '9':
		return safeInteger(in, i)
	}
	return i, false
}

// beyondBMP reports whether the valid UTF-8 s holds a character beyond
// U+FFFF: a 4-byte sequence, whose lead byte is 0xF0 or more.
func beyondBMP(s []byte) bool {
	for _, c := range s {
		if c >= 0xf0 {
			return true
		}
	}
	return false
}
