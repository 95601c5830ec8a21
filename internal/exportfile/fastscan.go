package exportfile

// The fast paths' JSON primitives, alone in this file: a strict scanner
// over bytes held in memory. They are to be replaced by internal/jsonscan
// (a strict scanner shared with the ledger's leaf codec); whatever
// replaces them must refuse exactly what RFC 8259 does not allow, which
// FuzzFastPath checks against encoding/json.

// maxFastDepth bounds the nesting the scanner follows; deeper input is
// left to encoding/json (which stops at 10,000).
const maxFastDepth = 512

// jsonScan is a strict JSON scanner over input held in memory. Its
// methods advance i and report false on anything RFC 8259 does not allow.
type jsonScan struct {
	b []byte
	i int
}

// strPlain marks the bytes a JSON string holds as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// at reports whether the next byte is c.
func (s *jsonScan) at(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

// eat consumes c if it is next.
func (s *jsonScan) eat(c byte) bool {
	if s.at(c) {
		s.i++
		return true
	}
	return false
}

// str scans the string that starts at i and returns the bounds of its
// content and whether it holds escapes.
func (s *jsonScan) str() (start, end int, esc, ok bool) {
	b := s.b
	i := s.i + 1
	start = i
	for {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, 0, false, false
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return start, i, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, 0, false, false
				}
				i += 6
			default:
				return 0, 0, false, false
			}
		default: // a control character
			return 0, 0, false, false
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *jsonScan) digits() bool {
	n := s.i
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
	return s.i > n
}

func (s *jsonScan) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		return s.digits()
	}
	return true
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// value scans any JSON value, depth levels down.
func (s *jsonScan) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, _, _, ok := s.str()
		return ok
	case '{':
		if depth >= maxFastDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat('}') {
			return true
		}
		for {
			if !s.at('"') {
				return false
			}
			if _, _, _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if !s.eat(':') {
				return false
			}
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if !s.eat(',') {
				return s.eat('}')
			}
			s.ws()
		}
	case '[':
		if depth >= maxFastDepth {
			return false
		}
		s.i++
		s.ws()
		if s.eat(']') {
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if !s.eat(',') {
				return s.eat(']')
			}
			s.ws()
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// key scans an object key followed by its colon and returns the key. An
// escaped key is refused: it is compared unescaped by encoding/json.
func (s *jsonScan) key() ([]byte, bool) {
	if !s.at('"') {
		return nil, false
	}
	start, end, esc, ok := s.str()
	if !ok || esc {
		return nil, false
	}
	s.ws()
	if !s.eat(':') {
		return nil, false
	}
	s.ws()
	return s.b[start:end], true
}
