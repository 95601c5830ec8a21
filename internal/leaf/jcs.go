package leaf

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
)

// CanonicalDetail returns the RFC 8785 form of a detail object. Details
// are small objects of strings, booleans and integers; for those it parses
// and re-serialises directly, which is several times faster than the
// general canonicalizer. Anything else — fractions, exponents, integers
// beyond 2^53, "-0", supplementary-plane keys (whose UTF-16 order differs
// from byte order), and every syntax error — goes to
// hashchain.Canonicalize, which is the definition. FuzzCanonicalDetail
// holds the two together.
func CanonicalDetail(raw []byte) ([]byte, error) {
	// Details built with encoding/json from maps of strings and integers
	// are usually canonical already: then checking is all there is to do.
	if c := (canonChecker{in: raw}); c.document() {
		return raw, nil
	}
	p := jcsParser{in: raw}
	if v, ok := p.document(); ok {
		return v.appendTo(make([]byte, 0, len(raw))), nil
	}
	return hashchain.Canonicalize(raw)
}

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

type jcsParser struct {
	in  []byte
	pos int
}

func (p *jcsParser) ws() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jcsParser) document() (jsonValue, bool) {
	p.ws()
	v, ok := p.value(0)
	if !ok {
		return jsonValue{}, false
	}
	p.ws()
	return v, p.pos == len(p.in)
}

const maxDepth = 64

func (p *jcsParser) value(depth int) (jsonValue, bool) {
	if p.pos >= len(p.in) || depth > maxDepth {
		return jsonValue{}, false
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		return jsonValue{kind: '"', text: s}, ok
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.integer()
	}
	return jsonValue{}, false
}

func (p *jcsParser) literal(lit string) (jsonValue, bool) {
	if !bytes.HasPrefix(p.in[p.pos:], []byte(lit)) {
		return jsonValue{}, false
	}
	p.pos += len(lit)
	return jsonValue{kind: 'n', text: lit}, true
}

// integer accepts only integers that ES6 number formatting prints back
// unchanged: no fraction or exponent, no leading zeros, not -0, |n| < 2^53.
func (p *jcsParser) integer() (jsonValue, bool) {
	start := p.pos
	if p.in[p.pos] == '-' {
		p.pos++
	}
	digits := p.pos
	for p.pos < len(p.in) && p.in[p.pos] >= '0' && p.in[p.pos] <= '9' {
		p.pos++
	}
	n := p.pos - digits
	if n == 0 || n > 16 || n > 1 && p.in[digits] == '0' {
		return jsonValue{}, false
	}
	if p.pos < len(p.in) {
		if c := p.in[p.pos]; c == '.' || c == 'e' || c == 'E' {
			return jsonValue{}, false
		}
	}
	text := string(p.in[start:p.pos])
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v >= maxSafeInteger || v <= -maxSafeInteger || text == "-0" {
		return jsonValue{}, false
	}
	return jsonValue{kind: 'n', text: text}, true
}

// str parses a string, decoding escapes. Lone surrogates, raw control
// characters and invalid UTF-8 fail (the general path reports them).
func (p *jcsParser) str() (string, bool) {
	p.pos++ // opening quote
	start := p.pos
	// Fast scan for the common case: no escapes.
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c == '"' {
			s := p.in[start:p.pos]
			p.pos++
			return string(s), utf8.Valid(s)
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.in[start:p.pos]...)
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), utf8.Valid(buf)
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.in) {
			return "", false
		}
		e := p.in[p.pos+1]
		p.pos += 2
		if d, ok := shortEscape(e); ok {
			buf = append(buf, d)
			continue
		}
		switch e {
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || !bytes.HasPrefix(p.in[p.pos:], []byte(`\u`)) {
					return "", false
				}
				p.pos += 2
				r2, ok := p.hex4()
				if !ok {
					return "", false
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", false
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", false
		}
	}
	return "", false
}

// shortEscape decodes the JSON escapes of one character (\" \\ \/ \b \f
// \n \r \t), for both of the package's string readers.
func shortEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func (p *jcsParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.in) {
		return 0, false
	}
	var r rune
	for _, c := range p.in[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

func (p *jcsParser) object(depth int) (jsonValue, bool) {
	p.pos++
	v := jsonValue{kind: '{'}
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		return v, true
	}
	for {
		p.ws()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return jsonValue{}, false
		}
		key, ok := p.str()
		if !ok {
			return jsonValue{}, false
		}
		for _, r := range key {
			if r >= 0x10000 {
				return jsonValue{}, false // UTF-16 order differs from byte order
			}
		}
		p.ws()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return jsonValue{}, false
		}
		p.pos++
		p.ws()
		val, ok := p.value(depth + 1)
		if !ok {
			return jsonValue{}, false
		}
		v.members = append(v.members, jsonMember{key: key, val: val})
		p.ws()
		if p.pos >= len(p.in) {
			return jsonValue{}, false
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] != '}' {
			return jsonValue{}, false
		}
		p.pos++
		break
	}
	// Below U+10000, UTF-16 code unit order is code point order, which is
	// UTF-8 byte order.
	slices.SortFunc(v.members, func(a, b jsonMember) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(v.members); i++ {
		if v.members[i].key == v.members[i-1].key {
			return jsonValue{}, false // duplicate: not I-JSON
		}
	}
	return v, true
}

func (p *jcsParser) array(depth int) (jsonValue, bool) {
	p.pos++
	v := jsonValue{kind: '['}
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		return v, true
	}
	for {
		p.ws()
		item, ok := p.value(depth + 1)
		if !ok {
			return jsonValue{}, false
		}
		v.items = append(v.items, item)
		p.ws()
		if p.pos >= len(p.in) {
			return jsonValue{}, false
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] != ']' {
			return jsonValue{}, false
		}
		p.pos++
		return v, true
	}
}

func (v *jsonValue) appendTo(b []byte) []byte {
	switch v.kind {
	case '{':
		b = append(b, '{')
		for i := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v.members[i].key)
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
		return appendJSONString(b, v.text)
	default:
		return append(b, v.text...)
	}
}

// canonChecker reports whether a JSON text is already exactly in RFC 8785
// form, within the fast path's subset: no whitespace, members sorted with
// unique keys that need no escaping, minimal string escapes, integers
// below 2^53. It allocates nothing. A false answer only means "not sure";
// the caller then canonicalizes.
type canonChecker struct {
	in  []byte
	pos int
}

func (c *canonChecker) document() bool {
	return c.value(0) && c.pos == len(c.in)
}

func (c *canonChecker) value(depth int) bool {
	if c.pos >= len(c.in) || depth > maxDepth {
		return false
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		_, ok := c.str(false)
		return ok
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	case b == '-' || b >= '0' && b <= '9':
		p := jcsParser{in: c.in, pos: c.pos}
		_, ok := p.integer()
		c.pos = p.pos
		return ok
	}
	return false
}

func (c *canonChecker) literal(lit string) bool {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
		return false
	}
	c.pos += len(lit)
	return true
}

// str checks a canonically escaped string and returns its raw contents.
// As a key (key true) it must need no escapes and have no characters
// beyond U+FFFF, so that byte order is the UTF-16 order RFC 8785 sorts by.
func (c *canonChecker) str(key bool) ([]byte, bool) {
	c.pos++
	start := c.pos
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		switch {
		case b == '"':
			s := c.in[start:c.pos]
			c.pos++
			return s, utf8.Valid(s)
		case b < 0x20:
			return nil, false
		case b >= 0xf0 && key:
			return nil, false
		case b == '\\':
			if key || c.pos+1 >= len(c.in) {
				return nil, false
			}
			switch c.in[c.pos+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				c.pos += 2
			case 'u':
				// Only control characters without a short escape, as
				// \u00xx in lower-case hex.
				if c.pos+6 > len(c.in) {
					return nil, false
				}
				h := c.in[c.pos+2 : c.pos+6]
				if h[0] != '0' || h[1] != '0' || h[2] != '0' && h[2] != '1' || !(h[3] >= '0' && h[3] <= '9' || h[3] >= 'a' && h[3] <= 'f') {
					return nil, false
				}
				switch hexVal(h[2])<<4 | hexVal(h[3]) {
				case '\b', '\f', '\n', '\r', '\t':
					return nil, false
				}
				c.pos += 6
			default:
				return nil, false
			}
		default:
			c.pos++
		}
	}
	return nil, false
}

func hexVal(b byte) byte {
	if b >= 'a' {
		return b - 'a' + 10
	}
	return b - '0'
}

func (c *canonChecker) object(depth int) bool {
	c.pos++
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		return true
	}
	var prev []byte
	for first := true; ; first = false {
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return false
		}
		key, ok := c.str(true)
		if !ok || !first && bytes.Compare(prev, key) >= 0 {
			return false
		}
		prev = key
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return false
		}
		c.pos++
		if !c.value(depth + 1) {
			return false
		}
		if c.pos >= len(c.in) {
			return false
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
		case '}':
			c.pos++
			return true
		default:
			return false
		}
	}
}

func (c *canonChecker) array(depth int) bool {
	c.pos++
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		return true
	}
	for {
		if !c.value(depth+1) || c.pos >= len(c.in) {
			return false
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			return true
		default:
			return false
		}
	}
}
