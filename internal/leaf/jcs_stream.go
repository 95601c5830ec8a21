package leaf

import (
	"bytes"
	"slices"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// appendJCS is the fast path of CanonicalDetail without a parse tree:
// each value is written in RFC 8785 form straight into b, and an
// object's members, written in input order, are put in key order
// afterwards only when they were not in it. Its subset is parseJCS's
// minus keys that RFC 8785 writes with escapes (which then take
// parseJCS's path): every other key, decoded, is its own canonical form
// and sorts by its bytes.
// ok false means "not in the subset", never "invalid".
func appendJCS(b, in []byte) ([]byte, bool) {
	var st jcsState
	return st.appendJCS(b, in)
}

// appendJCS is appendJCS with st's stacks (CanonicalSHA256 pools them).
func (st *jcsState) appendJCS(b, in []byte) ([]byte, bool) {
	st.members = st.members[:0]
	b, i, ok := st.value(b, in, jsonscan.Space(in, 0), 0)
	return b, ok && jsonscan.Space(in, i) == len(in)
}

// jcsState holds what the objects being written share: the members of
// every open object (a stack; each object uses the tail it pushed) and
// a scratch copy for reordering.
type jcsState struct {
	members []jcsMember
	scratch []byte
}

// jcsMember is one member written into b: b[start:end] is `"key":value`,
// b[start+1:keyEnd] the key.
type jcsMember struct {
	start, keyEnd, end int
}

func (st *jcsState) value(b, in []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(in) || depth > maxDepth {
		return b, i, false
	}
	switch c := in[i]; {
	case c == '{':
		return st.object(b, in, i, depth)
	case c == '[':
		b = append(b, '[')
		first := true
		end, err := jsonscan.Array(in, i, func(at int) (int, error) {
			if !first {
				b = append(b, ',')
			}
			first = false
			var end int
			var ok bool
			if b, end, ok = st.value(b, in, at, depth+1); !ok {
				return end, errNotFast
			}
			return end, nil
		})
		return append(b, ']'), end, err == nil
	case c == '"':
		end, esc, err := jsonscan.String(in, i)
		if err != nil {
			return b, end, false
		}
		if !esc {
			// No escapes: valid UTF-8 without control characters, quotes
			// or reverse solidi, which RFC 8785 writes as it is.
			return append(b, in[i:end]...), end, true
		}
		s, end, err := jsonscan.AppendString(st.scratch[:0], in, i)
		if err != nil {
			return b, end, false
		}
		st.scratch = s
		return jsonscan.AppendStringRFC8785(b, string(s)), end, true
	case c == 't' || c == 'f' || c == 'n':
		end, err := jsonscan.Literal(in, i)
		return append(b, in[i:end]...), end, err == nil
	case c == '-' || c >= '0' && c <= '9':
		end, ok := safeInteger(in, i)
		return append(b, in[i:end]...), end, ok
	}
	return b, i, false
}

func (st *jcsState) object(b, in []byte, i, depth int) ([]byte, int, bool) {
	return st.objectWith(b, in, i, func(b, _ []byte, at int) ([]byte, int, bool) { return st.value(b, in, at, depth+1) })
}

// objectWith is object with each member's value written by val (which
// gets the member's decoded key, appends the value at in[at:] to b and
// returns b, the index past the value and whether it is in the subset):
// CanonicalWriter's callers read the values they want as they are
// written.
func (st *jcsState) objectWith(b, in []byte, i int, val func(b, key []byte, at int) ([]byte, int, bool)) ([]byte, int, bool) {
	b = append(b, '{')
	open := len(b)
	base := len(st.members)
	defer func() { st.members = st.members[:base] }()
	end, err := jsonscan.Object(in, i, func(key []byte, at int) (int, error) {
		for _, c := range key {
			// Escaped in RFC 8785 form (so its bytes would not sort as the
			// key), or beyond U+FFFF (UTF-16 order differs from byte order).
			if c < 0x20 || c == '"' || c == '\\' || c >= 0xf0 {
				return at, errNotFast
			}
		}
		if len(st.members) > base {
			b = append(b, ',')
		}
		m := jcsMember{start: len(b)}
		b = append(b, '"')
		b = append(b, key...)
		m.keyEnd = len(b)
		b = append(b, '"', ':')
		var end int
		var ok bool
		if b, end, ok = val(b, key, at); !ok {
			return end, errNotFast
		}
		m.end = len(b)
		st.members = append(st.members, m)
		return end, nil
	})
	if err != nil {
		return b, end, false
	}
	ms := st.members[base:]
	key := func(m jcsMember) []byte { return b[m.start+1 : m.keyEnd] }
	sorted := true
	for k := 1; k < len(ms); k++ {
		switch c := bytes.Compare(key(ms[k-1]), key(ms[k])); {
		case c == 0:
			return b, end, false // duplicate: not I-JSON
		case c > 0:
			sorted = false
		}
	}
	if !sorted {
		// Below U+10000, UTF-16 code unit order is code point order, which
		// is UTF-8 byte order.
		slices.SortFunc(ms, func(x, y jcsMember) int { return bytes.Compare(key(x), key(y)) })
		for k := 1; k < len(ms); k++ {
			if bytes.Equal(key(ms[k-1]), key(ms[k])) {
				return b, end, false
			}
		}
		st.scratch = append(st.scratch[:0], b[open:]...)
		b = b[:open]
		for k, m := range ms {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, st.scratch[m.start-open:m.end-open]...)
		}
	}
	return append(b, '}'), end, true
}
