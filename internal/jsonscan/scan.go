package jsonscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Sentinel errors; every error the package returns wraps one of them (match
// with errors.Is) inside a *SyntaxError that says where.
var (
	// ErrSyntax means the input is not RFC 8259 JSON (including a string
	// with a raw control character or invalid UTF-8).
	ErrSyntax = errors.New("invalid json")
	// ErrDepth means arrays and objects nest deeper than the caller allows.
	ErrDepth = errors.New("json nested too deeply")
	// ErrLoneSurrogate means a string decodes to a lone UTF-16 surrogate
	// (\ud800 without its pair), which has no UTF-8 form. It is valid
	// RFC 8259 syntax, so only decoding refuses it.
	ErrLoneSurrogate = errors.New("json string has a lone surrogate escape")
	// ErrDuplicateKey means an object names a member twice (not I-JSON,
	// RFC 7493 §2.3), for callers that ask.
	ErrDuplicateKey = errors.New("json object has a duplicate key")
)

// SyntaxError is an error at a byte offset of the input.
type SyntaxError struct {
	Offset int    // where the problem was found
	What   string // what was wrong there
	Err    error  // ErrSyntax, ErrDepth, ErrLoneSurrogate or ErrDuplicateKey
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonscan: offset %d: %v: %s", e.Offset, e.Err, e.What)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(off int, what string) error {
	return &SyntaxError{Offset: off, What: what, Err: ErrSyntax}
}

// MaxDepth is the nesting Valid allows: encoding/json's limit, so the two
// agree on every document either accepts.
const MaxDepth = 10000

// Space returns the index of the first byte at or after i that is not
// JSON whitespace (space, tab, line feed, carriage return).
func Space(b []byte, i int) int {
	// Every byte above the space character is not white space: one
	// comparison for the usual case, where there is none (Space runs
	// between every two tokens).
	for i < len(b) && b[i] <= ' ' {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Literal reads true, false or null at b[i] and returns the index past it.
func Literal(b []byte, i int) (int, error) {
	for _, lit := range [...]string{"true", "false", "null"} {
		if i < len(b) && b[i] == lit[0] {
			if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
				return i + len(lit), nil
			}
			break
		}
	}
	return i, syntaxErr(i, "not true, false or null")
}

// Number reads a number at b[i] by RFC 8259's grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the index
// past it. Its value is the caller's business.
func Number(b []byte, i int) (int, error) {
	start := i
	digits := func() int {
		from := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - from
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return start, syntaxErr(i, "number without digits")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return start, syntaxErr(i, "number without digits after the point")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, syntaxErr(i, "number without exponent digits")
		}
	}
	return i, nil
}

// String checks the string at b[i] (its opening quotation mark) strictly:
// no raw control characters, only the escapes of RFC 8259, valid UTF-8.
// It returns the index past the closing quotation mark and whether the
// string holds any escape: when it does not, b[i+1:end-1] is its value
// as it is (the fast path; no decoding or copy needed). A \u escape of a
// lone surrogate is valid syntax here; AppendString refuses it.
func String(b []byte, i int) (end int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return i, false, syntaxErr(i, "not a string")
	}
	j := scan(b, i+1, true)
	ascii := true
	for j < len(b) {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return i, false, syntaxErr(i, "string is not valid utf-8")
			}
			return j + 1, escaped, nil
		case c < 0x20:
			return i, false, syntaxErr(j, "control character in string")
		case c == '\\':
			n := escapeLen(b, j)
			if n == 0 {
				return i, false, syntaxErr(j, "invalid escape")
			}
			escaped = true
			j += n
		default: // c >= utf8.RuneSelf
			ascii = false
			j++
		}
		j = scan(b, j, ascii)
	}
	return i, false, syntaxErr(i, "unterminated string")
}

// escapeLen returns the length of the valid escape at b[j] (a reverse
// solidus), 0 if it is not one.
func escapeLen(b []byte, j int) int {
	if j+1 >= len(b) {
		return 0
	}
	switch b[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if _, ok := hex4(b, j+2); ok {
			return 6
		}
	}
	return 0
}

// hex4 reads four hex digits (either case) at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		v := unhex[c]
		if v > 0xf {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// unhex maps a hex digit (either case) to its value, anything else to 0xff.
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

// Unhex is the value of a hex digit (either case), or 0xff for any other
// byte: for readers of fixed-width hex fields.
func Unhex(c byte) byte { return unhex[c] }

// AppendString decodes the string at b[i] onto dst and returns the index
// past it. It checks what String checks and also refuses escapes that
// decode to a lone surrogate (ErrLoneSurrogate), so the value is always
// valid UTF-8. A string without escapes is copied as it is.
func AppendString(dst, b []byte, i int) ([]byte, int, error) {
	end, escaped, err := String(b, i)
	if err != nil {
		return dst, i, err
	}
	if !escaped {
		return append(dst, b[i+1:end-1]...), end, nil
	}
	start := i + 1
	for j := start; j < end-1; {
		if b[j] != '\\' {
			j++
			continue
		}
		dst = append(dst, b[start:j]...)
		e := b[j+1]
		j += 2
		if e != 'u' {
			dst = append(dst, shortEscapes[e])
			start = j
			continue
		}
		r, _ := hex4(b, j)
		j += 4
		if utf16.IsSurrogate(r) {
			r2, ok := rune(0), false
			if r < 0xdc00 && j+6 <= end-1 && b[j] == '\\' && b[j+1] == 'u' {
				r2, ok = hex4(b, j+2)
			}
			if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
				return dst, i, &SyntaxError{Offset: j - 6, What: "lone surrogate", Err: ErrLoneSurrogate}
			}
			j += 6
		}
		dst = utf8.AppendRune(dst, r)
		start = j
	}
	return append(dst, b[start:end-1]...), end, nil
}

// shortEscapes decodes the one-character escapes String accepts.
var shortEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scan returns the index of the first byte from b[i] on that can end or
// complicate a string: the quotation mark, the reverse solidus, a control
// character, and with nonASCII also any byte from 0x80 up; len(b) if
// none. It tests eight bytes at a time, then the last few one by one:
// the fast path of every string read.
func scan(b []byte, i int, nonASCII bool) int {
	high := uint64(0)
	if nonASCII {
		high = highs
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^('"'*ones), x^('\\'*ones)
		// A zero byte in q or bs, a byte below 0x20 in x: the classic
		// "has zero byte" and "has byte less than" tests. A test may also
		// mark a byte above one it rightly marks (a borrow runs upwards),
		// never below, so the lowest mark is the first byte to stop at.
		if m := ((q-ones)&^q|(bs-ones)&^bs|(x-0x20*ones)&^x)&highs | x&high; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
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
// reverse solidus, control characters and non-ASCII bytes; skipStop the
// same but for the non-ASCII bytes.
var strStop, skipStop = func() (s, k [256]bool) {
	for c := range s {
		k[c] = c == '"' || c == '\\' || c < 0x20
		s[c] = k[c] || c >= utf8.RuneSelf
	}
	return s, k
}()

// Skip passes over the value at b[i] (no leading whitespace; whitespace
// inside it is allowed) and returns the index past it. Arrays and objects
// may nest maxDepth levels: a value at depth 1 is inside one container.
func Skip(b []byte, i int, maxDepth int) (int, error) {
	return skip(b, i, 0, maxDepth)
}

func skip(b []byte, i, depth, maxDepth int) (int, error) {
	if i >= len(b) {
		return i, syntaxErr(i, "value expected")
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return i, &SyntaxError{Offset: i, What: fmt.Sprintf("more than %d levels", maxDepth), Err: ErrDepth}
		}
		if c == '{' {
			return Object(b, i, func(_ []byte, v int) (int, error) { return skip(b, v, depth+1, maxDepth) })
		}
		return Array(b, i, func(v int) (int, error) { return skip(b, v, depth+1, maxDepth) })
	case c == '"':
		end, _, err := String(b, i)
		return end, err
	case c == 't' || c == 'f' || c == 'n':
		return Literal(b, i)
	case c == '-' || c >= '0' && c <= '9':
		return Number(b, i)
	}
	return i, syntaxErr(i, "value expected")
}

// Valid reports whether b is one JSON text (RFC 8259, with the strict
// strings of String), with whitespace around it allowed and at most
// MaxDepth levels of nesting.
func Valid(b []byte) bool {
	return Check(b, MaxDepth) == nil
}

// Check is Valid with the reason, and a nesting limit of the caller's.
func Check(b []byte, maxDepth int) error {
	i, err := Skip(b, Space(b, 0), maxDepth)
	if err != nil {
		return err
	}
	if i = Space(b, i); i != len(b) {
		return syntaxErr(i, "data after the value")
	}
	return nil
}

// Object reads the object at b[i] (its opening brace) member by member.
// For each it calls member with the decoded key (valid only during the
// call: it may be a slice of b or of a buffer reused for the next key)
// and the index of the value, after whitespace; member reads the value
// and returns the index past it. Object returns the index past the
// closing brace. Keys are not checked for duplicates: see UniqueKeys.
func Object(b []byte, i int, member func(key []byte, v int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return i, syntaxErr(i, "object expected")
	}
	if i = Space(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var buf []byte
	for {
		if i >= len(b) || b[i] != '"' {
			return i, syntaxErr(i, "member name expected")
		}
		end, escaped, err := String(b, i)
		if err != nil {
			return i, err
		}
		key := b[i+1 : end-1]
		if escaped {
			if buf, _, err = AppendString(buf[:0], b, i); err != nil {
				return i, err
			}
			key = buf
		}
		if i = Space(b, end); i >= len(b) || b[i] != ':' {
			return i, syntaxErr(i, "colon expected")
		}
		if i, err = member(key, Space(b, i+1)); err != nil {
			return i, err
		}
		if i = Space(b, i); i >= len(b) {
			return i, syntaxErr(i, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = Space(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, syntaxErr(i, "comma or closing brace expected")
		}
	}
}

// Array reads the array at b[i] (its opening bracket) element by element:
// elem gets the index of each element, after whitespace, and returns the
// index past it. Array returns the index past the closing bracket.
func Array(b []byte, i int, elem func(v int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return i, syntaxErr(i, "array expected")
	}
	if i = Space(b, i+1); i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = elem(i); err != nil {
			return i, err
		}
		if i = Space(b, i); i >= len(b) {
			return i, syntaxErr(i, "unterminated array")
		}
		switch b[i] {
		case ',':
			i = Space(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, syntaxErr(i, "comma or closing bracket expected")
		}
	}
}

// UniqueKeys checks the value at b[i] as Skip does and also that no
// object in it names a member twice (comparing decoded keys, so "a" and
// "\u0061" are the same key), for readers where a repeated member would
// be read differently by different parsers. It returns the index past
// the value.
func UniqueKeys(b []byte, i int, maxDepth int) (int, error) {
	return unique(b, i, 0, maxDepth)
}

func unique(b []byte, i, depth, maxDepth int) (int, error) {
	if i >= len(b) || b[i] != '{' && b[i] != '[' {
		return skip(b, i, depth, maxDepth)
	}
	if depth >= maxDepth {
		return i, &SyntaxError{Offset: i, What: fmt.Sprintf("more than %d levels", maxDepth), Err: ErrDepth}
	}
	if b[i] == '[' {
		return Array(b, i, func(v int) (int, error) { return unique(b, v, depth+1, maxDepth) })
	}
	var seen []string // objects are small; a map costs more below a few dozen keys
	return Object(b, i, func(key []byte, v int) (int, error) {
		for _, k := range seen {
			if k == string(key) {
				return v, &SyntaxError{Offset: v, What: fmt.Sprintf("member %q again", key), Err: ErrDuplicateKey}
			}
		}
		seen = append(seen, string(key))
		return unique(b, v, depth+1, maxDepth)
	})
}
