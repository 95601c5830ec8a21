package leaf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// CanonicalWriter writes the RFC 8785 form of a JSON document while its
// caller reads the document, so that one scan both decodes a message and
// yields its payload hash (derive.DecodeMessage; before, the message was
// scanned once to decode it and once more to canonicalise it). The
// caller walks the document with Object (or ObjectKeys), Array and
// String, reading what it wants, and writes every value it does not read
// with Value. Any error means "not in appendJCS's subset, or invalid":
// the caller then asks the reference, CanonicalSHA256 of the bytes.
// derive's FuzzDecodeMessageHashed and FuzzReadConversationHashed hold
// Sum to hashchain.PayloadHash, the reference canonicaliser, and
// FuzzCanonicalWriter holds the writer to appendJCS.
//
// It writes as appendJCS does, without moving bytes while it reads
// (issue 16: appendJCS writes each object's members in input order and
// then copies them into key order, at every level of nesting, which was
// most of a message's canonicalisation). Each value read is recorded as
// where its canonical text is — a span of the input when the input
// holds it as it is (a string without escapes, a literal, a safe
// integer, a member `"key":value` of those), else of aux, where the
// writer puts the text it makes — and each closed object as its members'
// records in key order. Sum writes the document out once, from those
// records, and hashes it. An object read with ObjectKeys, whose every
// member name is among a fixed set, is put in order by each name's
// place in the set's sorted order, found once, without comparing keys.
type CanonicalWriter struct {
	in    []byte
	aux   []byte   // canonical text that is not in in as it is
	stack []cItem  // the members (elements) of the open objects (arrays), each one's the tail it pushed
	items []cItem  // those of the closed ones, each one's together and in canonical order
	last  cItem    // the value written last (kind, off, end)
	b     []byte   // the canonical form, written out from the records by Sum
	st    jcsState // Value's, for an object or array it writes whole; and String's scratch
	keys  []byte   // the keys of an object whose order is not known, for the sort
	depth int      // of the value read next
	big   bool     // in is too long for the records' 32-bit offsets: every call declines
}

// cItem is a value, or an object's member, as the writer records it:
// the key (quoted, canonical: in[ks:ke], or aux's with keyAux) and the
// value, whose canonical text is in[off:end] (cIn), aux[off:end] (cAux),
// the whole member in[ks:end] (cMember: key, colon and value as they
// are in the input), or the closed object (cObject) or array (cArray)
// whose members or elements are items[off:end].
type cItem struct {
	pre      uint64 // the key's first eight bytes (keyPrefix): the sort's first comparison
	ks, ke   uint32
	off, end uint32
	idx      uint16 // its place in its object as written (for a learned order)
	kind     uint8
	rank     uint8 // its key's place in the Keys' sorted order (ObjectKeys)
	keyAux   bool
}

const (
	cNone = iota
	cIn
	cAux
	cMember
	cObject
	cArray
)

// maxWriterInput is the longest document the writer takes: its records
// hold 32-bit offsets (aux, its own text, stays within a few times the
// input). Longer documents decline, and the reference decides.
const maxWriterInput = 1 << 28

var writerPool = sync.Pool{New: func() any { return new(CanonicalWriter) }}

// NewCanonicalWriter returns a writer for the document in (pooled: Release
// it when done).
func NewCanonicalWriter(in []byte) *CanonicalWriter {
	w := writerPool.Get().(*CanonicalWriter)
	w.in, w.depth, w.big = in, 0, len(in) > maxWriterInput
	w.aux, w.stack, w.items, w.b, w.keys = w.aux[:0], w.stack[:0], w.items[:0], w.b[:0], w.keys[:0]
	w.st.members, w.st.scratch = w.st.members[:0], w.st.scratch[:0]
	w.last = cItem{}
	return w
}

// Release returns w to the pool; w is not used after.
func (w *CanonicalWriter) Release() {
	w.in = nil
	if cap(w.b) > 1<<20 || cap(w.aux) > 1<<20 || cap(w.items) > 1<<16 { // a huge body's buffers are not kept
		return
	}
	writerPool.Put(w)
}

// Keys is a fixed set of member names, for ObjectKeys: each name's index
// (its place in the set, which ObjectKeys reports) and its place among
// the names in RFC 8785 order (for a name of ASCII characters, byte
// order), found once here so that ObjectKeys need not compare keys.
type Keys struct {
	names   []string
	byFirst [256]uint64 // bit f: names[f] starts with the byte
	byLen   [32]uint64  // bit f: names[f] has the length (31: 31 or more)
	rank    [64]uint8   // names[f]'s place in sorted order
	pre     [64]uint64  // keyPrefix of names[f]
	mask    [64]uint64  // the bytes of pre that are names[f]'s
}

// NewKeys returns the set of names, at most 64, each non-empty, printable
// ASCII without a quotation mark or reverse solidus (its own RFC 8785
// form), none twice; it panics otherwise (the names are the caller's
// constants).
func NewKeys(names ...string) *Keys {
	if len(names) > 64 {
		panic("leaf: more than 64 names in a key set")
	}
	ks := &Keys{names: names}
	for f, n := range names {
		if n == "" {
			panic("leaf: an empty name in a key set")
		}
		for _, c := range []byte(n) {
			if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
				panic("leaf: a key set's name is not plain ASCII: " + n)
			}
		}
		ks.byFirst[n[0]] |= 1 << f
		ks.byLen[min(len(n), 31)] |= 1 << f
		ks.pre[f] = keyPrefix([]byte(n))
		ks.mask[f] = ^uint64(0) << (64 - 8*min(len(n), 8))
		for g, m := range names {
			switch {
			case g != f && m == n:
				panic("leaf: a name twice in a key set: " + n)
			case m < n:
				ks.rank[f]++
			}
		}
	}
	return ks
}

// Names returns the names, in the order given.
func (ks *Keys) Names() []string { return ks.names }

// Index is the index of key among the names, -1 if it is none of them.
func (ks *Keys) Index(key []byte) int {
	if len(key) == 0 {
		return -1
	}
	for m := ks.byFirst[key[0]] & ks.byLen[min(len(key), 31)]; m != 0; m &= m - 1 {
		if f := bits.TrailingZeros64(m); string(key) == ks.names[f] {
			return f
		}
	}
	return -1
}

// match finds the member name that starts at in[i] (its quotation mark)
// when it is one of the names spelt as it is, without escapes: its index
// and the index past its closing quotation mark; -1 when it is not. A
// name holds no quotation mark or reverse solidus, so in[i:end] is then
// a valid JSON string whose value is the name. It compares the first
// eight bytes at once, where jsonscan.String and Index scanned the key
// and then compared it (issue 16: finding a member's name was an eighth
// of a message's decoding).
func (ks *Keys) match(in []byte, i int) (int, int) {
	s := i + 1
	if s+8 > len(in) { // the document's last few bytes
		for f, n := range ks.names {
			if e := s + len(n); e < len(in) && in[e] == '"' && string(in[s:e]) == n {
				return f, e + 1
			}
		}
		return -1, 0
	}
	x := binary.BigEndian.Uint64(in[s:])
	for m := ks.byFirst[in[s]]; m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		n := ks.names[f]
		e := s + len(n)
		if e >= len(in) || in[e] != '"' || x&ks.mask[f] != ks.pre[f] {
			continue
		}
		if len(n) <= 8 || string(in[s+8:e]) == n[8:] {
			return f, e + 1
		}
	}
	return -1, 0
}

// Object reads the object at in[i] (its opening brace): member is called
// with each decoded key (valid during the call) and the index of its
// value, and must read or write that value (once) and return the index
// past it.
func (w *CanonicalWriter) Object(i int, member func(key []byte, at int) (int, error)) (int, error) {
	return w.object(i, nil, nil, member)
}

// ObjectKeys is Object for an object whose members are read by name from
// ks: known is called for each member named exactly as one of ks's names
// (f its index), other for every other member (its key decoded, valid
// during the call). A name met twice declines: not I-JSON.
func (w *CanonicalWriter) ObjectKeys(i int, ks *Keys, known func(f, at int) (int, error), other func(key []byte, at int) (int, error)) (int, error) {
	return w.object(i, ks, known, other)
}

func (w *CanonicalWriter) object(i int, ks *Keys, known func(f, at int) (int, error), other func(key []byte, at int) (int, error)) (int, error) {
	in := w.in
	if i >= len(in) || in[i] != '{' || w.depth > maxDepth || w.big {
		return i, errNotFast
	}
	w.depth++
	base := len(w.stack)
	end, err := w.members(i, base, ks, known, other)
	w.depth--
	if err != nil {
		w.stack = w.stack[:base]
		return end, errNotFast
	}
	return end, nil
}

// members reads the members of the object at in[i] onto the stack from
// base, then closes it: puts them in key order among the items and sets
// last to the object.
func (w *CanonicalWriter) members(i, base int, ks *Keys, known func(f, at int) (int, error), other func(key []byte, at int) (int, error)) (int, error) {
	in := w.in
	var seen uint64 // bit r: the name of rank r was met
	allKnown, inOrder, lastRank := true, true, -1
	if i = jsonscan.Space(in, i+1); i < len(in) && in[i] == '}' {
		w.last = cItem{kind: cObject, off: uint32(len(w.items)), end: uint32(len(w.items))}
		return i + 1, nil
	}
	for {
		if i >= len(in) || in[i] != '"' {
			return i, errNotFast
		}
		f, kend, esc := -1, 0, false
		if ks != nil {
			f, kend = ks.match(in, i)
		}
		if f < 0 {
			var err error
			if kend, esc, err = jsonscan.String(in, i); err != nil {
				return i, errNotFast
			}
		}
		it := cItem{ks: uint32(i), ke: uint32(kend), idx: uint16(min(len(w.stack)-base, 1<<16-1))}
		key := in[i+1 : kend-1]
		if esc {
			// Its canonical form is the decoded key, quoted, when it needs
			// no escape (else declined below, as appendJCS declines it).
			start := len(w.aux)
			w.aux = append(w.aux, '"')
			var err error
			if w.aux, _, err = jsonscan.AppendString(w.aux, in, i); err != nil {
				return i, errNotFast
			}
			key = w.aux[start+1:]
			w.aux = append(w.aux, '"')
			it.ks, it.ke, it.keyAux = uint32(start), uint32(len(w.aux)), true
			if ks != nil {
				f = ks.Index(key) // a name spelt with escapes ("i\u0064")
			}
		}
		j := jsonscan.Space(in, kend)
		if j >= len(in) || in[j] != ':' {
			return j, errNotFast
		}
		at := jsonscan.Space(in, j+1)
		w.last.kind = cNone
		var vend int
		var err error
		if f >= 0 {
			r := ks.rank[f]
			if seen&(1<<r) != 0 {
				return at, errNotFast // a duplicate: not I-JSON
			}
			seen |= 1 << r
			if int(r) < lastRank {
				inOrder = false
			}
			lastRank = int(r)
			it.rank, it.pre = r, ks.pre[f]
			vend, err = known(f, at)
		} else {
			for _, c := range key {
				if keyRefused[c] {
					return at, errNotFast
				}
			}
			allKnown = false
			it.pre = keyPrefix(key)
			vend, err = other(key, at)
		}
		if err != nil || w.last.kind == cNone {
			return vend, errNotFast
		}
		it.kind, it.off, it.end = w.last.kind, w.last.off, w.last.end
		if it.kind == cIn && !esc && j == kend && int(it.off) == j+1 {
			it.kind = cMember // "key":value, all of it as it is in the input
		}
		w.stack = append(w.stack, it)
		if i = jsonscan.Space(in, vend); i >= len(in) {
			return i, errNotFast
		}
		switch in[i] {
		case ',':
			i = jsonscan.Space(in, i+1)
			continue
		case '}':
			i++
		default:
			return i, errNotFast
		}
		break
	}
	ms := w.stack[base:]
	first := len(w.items)
	switch {
	case allKnown && inOrder:
		w.items = append(w.items, ms...)
	case allKnown:
		var pos [64]uint8
		for k := range ms {
			pos[ms[k].rank] = uint8(k)
		}
		for m := seen; m != 0; m &= m - 1 {
			w.items = append(w.items, ms[pos[bits.TrailingZeros64(m)]])
		}
	default:
		if !w.sortMembers(ms) {
			return i, errNotFast
		}
	}
	w.stack = w.stack[:base]
	if len(w.items) >= 1<<32-1 {
		return i, errNotFast
	}
	w.last = cItem{kind: cObject, off: uint32(first), end: uint32(len(w.items))}
	return i, nil
}

// key is the decoded key of member it.
func (w *CanonicalWriter) key(it *cItem) []byte {
	if it.keyAux {
		return w.aux[it.ks+1 : it.ke-1]
	}
	return w.in[it.ks+1 : it.ke-1]
}

// compare orders two members by key (bytes.Compare's order), as
// compareMembers does.
func (w *CanonicalWriter) compare(x, y *cItem) int {
	switch {
	case x.pre < y.pre:
		return -1
	case x.pre > y.pre:
		return 1
	}
	return bytes.Compare(w.key(x), w.key(y))
}

// sortMembers appends the members ms to the items in key order, as
// jcsState.object orders them (its learned orders too); false when a key
// repeats.
func (w *CanonicalWriter) sortMembers(ms []cItem) bool {
	sorted := true
	for k := 1; k < len(ms); k++ {
		switch c := w.compare(&ms[k-1], &ms[k]); {
		case c == 0:
			return false // duplicate: not I-JSON
		case c > 0:
			sorted = false
		}
		if !sorted {
			break // a repeated key is found below
		}
	}
	if sorted {
		w.items = append(w.items, ms...)
		return true
	}
	var slot *memberOrder
	if n := len(ms); n <= maxOrder {
		slot = &w.st.orders[(uint64(n)*0x9e3779b97f4a7c15^ms[0].pre)%orderSlots]
		if slot.n == n && slot.first == ms[0].pre && w.ascending(ms, slot.perm[:n]) {
			for _, k := range slot.perm[:n] {
				w.items = append(w.items, ms[k])
			}
			return true
		}
	}
	first := ms[0].pre
	if len(ms) > 24 {
		// As sortMembers (jcs_stream.go): an insertion sort only for
		// the few members of the objects Genesys sends. Hostile evidence
		// can hold an object of a million members, which it would sort
		// in hours (40,000 took 2 s).
		slices.SortFunc(ms, func(x, y cItem) int { return w.compare(&x, &y) })
	} else {
		for k := 1; k < len(ms); k++ {
			m := ms[k]
			j := k
			for ; j > 0 && w.compare(&ms[j-1], &m) > 0; j-- {
				ms[j] = ms[j-1]
			}
			ms[j] = m
		}
	}
	for k := 1; k < len(ms); k++ {
		if w.compare(&ms[k-1], &ms[k]) == 0 {
			return false
		}
	}
	if slot != nil {
		slot.n, slot.first = len(ms), first
		for k := range ms {
			slot.perm[k] = uint8(ms[k].idx)
		}
	}
	w.items = append(w.items, ms...)
	return true
}

// ascending reports whether the members of ms in the order perm (a
// permutation of their indices) have strictly ascending keys.
func (w *CanonicalWriter) ascending(ms []cItem, perm []uint8) bool {
	for k := 1; k < len(perm); k++ {
		if w.compare(&ms[perm[k-1]], &ms[perm[k]]) >= 0 {
			return false
		}
	}
	return true
}

// Array reads the array at in[i] (its opening bracket): elem is called
// with the index of each element, and must read or write it (once) and
// return the index past it.
func (w *CanonicalWriter) Array(i int, elem func(at int) (int, error)) (int, error) {
	if i >= len(w.in) || w.in[i] != '[' || w.depth > maxDepth || w.big {
		return i, errNotFast
	}
	w.depth++
	base := len(w.stack)
	end, err := w.elements(i, base, elem)
	w.depth--
	if err != nil {
		w.stack = w.stack[:base]
		return end, errNotFast
	}
	return end, nil
}

func (w *CanonicalWriter) elements(i, base int, elem func(at int) (int, error)) (int, error) {
	in := w.in
	if i = jsonscan.Space(in, i+1); i >= len(in) || in[i] != ']' {
		for {
			w.last.kind = cNone
			end, err := elem(i)
			if err != nil || w.last.kind == cNone {
				return end, errNotFast
			}
			w.stack = append(w.stack, w.last)
			if i = jsonscan.Space(in, end); i >= len(in) {
				return i, errNotFast
			}
			if in[i] == ']' {
				break
			}
			if in[i] != ',' {
				return i, errNotFast
			}
			i = jsonscan.Space(in, i+1)
		}
	}
	first := len(w.items)
	w.items = append(w.items, w.stack[base:]...)
	w.stack = w.stack[:base]
	if len(w.items) >= 1<<32-1 {
		return i, errNotFast
	}
	w.last = cItem{kind: cArray, off: uint32(first), end: uint32(len(w.items))}
	return i + 1, nil
}

// String writes the string at in[i] and returns its decoded value (a
// view of in, or of a buffer reused by the next call: valid until then).
func (w *CanonicalWriter) String(i int) ([]byte, int, error) {
	s, _, end, err := w.StringView(i)
	return s, end, err
}

// StringView is String, and says whether the value is a view of in (a
// string without escapes: valid as long as in is), not of the buffer.
func (w *CanonicalWriter) StringView(i int) (s []byte, view bool, end int, err error) {
	if i >= len(w.in) || w.in[i] != '"' || w.big {
		return nil, false, i, errNotFast
	}
	end, esc, err := jsonscan.String(w.in, i)
	if err != nil {
		return nil, false, end, errNotFast
	}
	if !esc {
		w.last = cItem{kind: cIn, off: uint32(i), end: uint32(end)}
		return w.in[i+1 : end-1], true, end, nil
	}
	s, end, err = jsonscan.AppendString(w.st.scratch[:0], w.in, i)
	if err != nil {
		return nil, false, end, errNotFast
	}
	w.st.scratch = s
	start := len(w.aux)
	w.aux = jsonscan.AppendStringRFC8785(w.aux, string(s))
	return s, false, end, w.auxValue(start)
}

// auxValue sets last to the text written to aux from start.
func (w *CanonicalWriter) auxValue(start int) error {
	if len(w.aux) >= 1<<32-1 {
		return errNotFast
	}
	w.last = cItem{kind: cAux, off: uint32(start), end: uint32(len(w.aux))}
	return nil
}

// Value writes the value at in[i] whole, whatever it is, as appendJCS
// writes it (its own code: value).
func (w *CanonicalWriter) Value(i int) (int, error) {
	in := w.in
	if i >= len(in) || w.depth > maxDepth || w.big {
		return i, errNotFast
	}
	switch c := in[i]; {
	case c == '"':
		_, end, err := w.String(i)
		return end, err
	case c == 't' || c == 'f' || c == 'n':
		end, err := jsonscan.Literal(in, i)
		if err != nil {
			return end, errNotFast
		}
		w.last = cItem{kind: cIn, off: uint32(i), end: uint32(end)}
		return end, nil
	case c == '-' || c >= '0' && c <= '9':
		if end, ok := safeInteger(in, i); ok {
			w.last = cItem{kind: cIn, off: uint32(i), end: uint32(end)}
			return end, nil
		}
	}
	start := len(w.aux)
	b, end, ok := w.st.value(w.aux, in, i, w.depth)
	w.aux = b
	if !ok {
		return end, errNotFast
	}
	return end, w.auxValue(start)
}

// Sum returns the SHA-256 of the canonical form once the document's top
// value, read or written by the caller, ends at end: ok false when more
// than white space follows it.
func (w *CanonicalWriter) Sum(end int) (hashchain.Hash, bool) {
	if jsonscan.Space(w.in, end) != len(w.in) {
		return hashchain.Hash{}, false
	}
	return w.SumValue(), true
}

// SumValue returns the SHA-256 of the canonical form written, for a
// caller that read one value inside a larger document (a message of a
// bulk body, derive.DecodeMessagesIn) and checks what follows it itself.
func (w *CanonicalWriter) SumValue() hashchain.Hash {
	w.b = w.write(w.b[:0], &w.last)
	return sha256.Sum256(w.b)
}

// write appends the canonical text of the value it to b.
func (w *CanonicalWriter) write(b []byte, it *cItem) []byte {
	switch it.kind {
	case cIn:
		return append(b, w.in[it.off:it.end]...)
	case cAux:
		return append(b, w.aux[it.off:it.end]...)
	case cArray:
		b = append(b, '[')
		for k := it.off; k < it.end; k++ {
			if k > it.off {
				b = append(b, ',')
			}
			b = w.write(b, &w.items[k])
		}
		return append(b, ']')
	case cObject:
		b = append(b, '{')
		for k := it.off; k < it.end; k++ {
			if k > it.off {
				b = append(b, ',')
			}
			m := &w.items[k]
			switch {
			case m.kind == cMember:
				b = append(b, w.in[m.ks:m.end]...)
				continue
			case m.keyAux:
				b = append(b, w.aux[m.ks:m.ke]...)
			default:
				b = append(b, w.in[m.ks:m.ke]...)
			}
			b = append(b, ':')
			b = w.write(b, m)
		}
		return append(b, '}')
	}
	return b
}
