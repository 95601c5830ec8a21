package leaf

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"

	"github.com/gowebpki/jcs"

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
	orders  [orderSlots]memberOrder
}

// memberOrder is the key order an object's members last had: the
// objects of one API come with their members in one order (a message's
// in Genesys's), so the order found for one object of n members whose
// first key is first is tried first for the next such object. It is
// used only once checked: the members in that order must have strictly
// ascending keys, which makes it the one sorted order, and proves that
// no key repeats.
type memberOrder struct {
	n     int
	first uint64 // the prefix (keyPrefix) of the first member's key
	perm  [maxOrder]uint8
}

const (
	orderSlots = 16
	maxOrder   = 24 // the most members an order is kept for
)

// jcsMember is one member written into b: b[start:end] is `"key":value`,
// b[start+1:keyEnd] the key, and pre the key's first eight bytes, big
// endian, padded with zeros (keyPrefix): most keys differ within them, so
// most comparisons of a sort are one of integers.
type jcsMember struct {
	start, keyEnd, end int
	pre                uint64
	idx                int // its place in the object as written
}

// keyPrefix is the first eight bytes of key as a big-endian integer,
// padded with zero bytes. A key here holds no byte below 0x20 (those are
// escaped, and jcsState.object declines them), so a zero byte sorts before
// every byte a longer key can have there: prefixes that differ order
// their keys as bytes.Compare does, and only equal ones need the rest.
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var p uint64
	for k, c := range key {
		p |= uint64(c) << (56 - 8*k)
	}
	return p
}

// keyRefused marks the bytes of a key the fast path declines: those
// escaped in RFC 8785 form (so its bytes would not sort as the key), and
// the lead bytes of characters beyond U+FFFF (UTF-16 order differs from
// byte order there). One lookup a byte, where four comparisons were.
var keyRefused = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0xf0
	}
	return t
}()

// compareMembers orders two members of b by key (bytes.Compare's order).
func compareMembers(b []byte, x, y jcsMember) int {
	switch {
	case x.pre < y.pre:
		return -1
	case x.pre > y.pre:
		return 1
	}
	return bytes.Compare(b[x.start+1:x.keyEnd], b[y.start+1:y.keyEnd])
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
		if end, ok := safeInteger(in, i); ok {
			return append(b, in[i:end]...), end, true
		}
		s, end, ok := numberJCS(in, i)
		return append(b, s...), end, ok
	}
	return b, i, false
}

// numberJCS is the RFC 8785 form of a number safeInteger does not take
// (a fraction, an exponent, -0, beyond 2^53: a Location's latitude, say),
// made exactly as the reference, hashchain.Canonicalize, makes it: the
// text parsed by strconv.ParseFloat, written by gowebpki/jcs's
// NumberToJSON. ok false for what it refuses (beyond the double range).
func numberJCS(in []byte, i int) (string, int, bool) {
	end, err := jsonscan.Number(in, i)
	if err != nil {
		return "", end, false
	}
	f, err := strconv.ParseFloat(string(in[i:end]), 64)
	if err != nil {
		return "", end, false
	}
	s, err := jcs.NumberToJSON(f)
	return s, end, err == nil
}

// object appends the object at in[i] in RFC 8785 form, its members in
// key order (CanonicalWriter, which records its members instead, orders
// them as this does: jcs_fused.go).
func (st *jcsState) object(b, in []byte, i, depth int) ([]byte, int, bool) {
	b = append(b, '{')
	open := len(b)
	base := len(st.members)
	defer func() { st.members = st.members[:base] }()
	end, err := jsonscan.Object(in, i, func(key []byte, at int) (int, error) {
		for _, c := range key {
			if keyRefused[c] {
				return at, errNotFast
			}
		}
		if len(st.members) > base {
			b = append(b, ',')
		}
		m := jcsMember{start: len(b), pre: keyPrefix(key), idx: len(st.members) - base}
		b = append(b, '"')
		b = append(b, key...)
		m.keyEnd = len(b)
		b = append(b, '"', ':')
		var end int
		var ok bool
		if b, end, ok = st.value(b, in, at, depth+1); !ok {
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
	sorted := true
	for k := 1; k < len(ms); k++ {
		switch c := compareMembers(b, ms[k-1], ms[k]); {
		case c == 0:
			return b, end, false // duplicate: not I-JSON
		case c > 0:
			sorted = false
		}
		if !sorted {
			break // a repeated key is found below
		}
	}
	if !sorted {
		// Below U+10000, UTF-16 code unit order is code point order, which
		// is UTF-8 byte order.
		var perm []uint8
		var slot *memberOrder
		if n := len(ms); n <= maxOrder {
			slot = &st.orders[(uint64(n)*0x9e3779b97f4a7c15^ms[0].pre)%orderSlots]
			if slot.n == n && slot.first == ms[0].pre && ascending(b, ms, slot.perm[:n]) {
				perm = slot.perm[:n]
			}
		}
		if perm == nil {
			first := ms[0].pre
			sortMembers(b, ms)
			for k := 1; k < len(ms); k++ {
				if compareMembers(b, ms[k-1], ms[k]) == 0 {
					return b, end, false
				}
			}
			if slot != nil {
				slot.n, slot.first = len(ms), first
				for k, m := range ms {
					slot.perm[k] = uint8(m.idx)
				}
			}
		}
		st.scratch = append(st.scratch[:0], b[open:]...)
		b = b[:open]
		for k := range ms {
			m := ms[k]
			if perm != nil {
				m = ms[perm[k]]
			}
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, st.scratch[m.start-open:m.end-open]...)
		}
	}
	return append(b, '}'), end, true
}

// ascending reports whether the members of ms in the order perm (a
// permutation of their indices) have strictly ascending keys.
func ascending(b []byte, ms []jcsMember, perm []uint8) bool {
	for k := 1; k < len(perm); k++ {
		if compareMembers(b, ms[perm[k-1]], ms[perm[k]]) >= 0 {
			return false
		}
	}
	return true
}

// sortMembers sorts ms by key. An object's members are few (a message's
// dozen at most, mostly): an insertion sort with the comparison inlined,
// rather than slices.SortFunc's call per comparison, which was a fifth of
// a message's canonical form (issue 16). Many members go to SortFunc.
func sortMembers(b []byte, ms []jcsMember) {
	if len(ms) > 24 {
		slices.SortFunc(ms, func(x, y jcsMember) int { return compareMembers(b, x, y) })
		return
	}
	for k := 1; k < len(ms); k++ {
		m := ms[k]
		j := k
		for ; j > 0 && compareMembers(b, ms[j-1], m) > 0; j-- {
			ms[j] = ms[j-1]
		}
		ms[j] = m
	}
}
