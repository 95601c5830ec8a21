package leaf

import (
	"crypto/sha256"
	"sync"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// CanonicalWriter writes the RFC 8785 form of a JSON document while its
// caller reads the document, so that one scan both decodes a message and
// yields its payload hash (derive.DecodeMessage; before, the message was
// scanned once to decode it and once more to canonicalise it). The
// caller walks the document with Object, Array and String, reading what
// it wants, and writes every value it does not read with Value; each is
// written exactly as appendJCS writes it (the same code: objectWith,
// value). Any error means "not in appendJCS's subset, or invalid": the
// caller then asks the reference, CanonicalSHA256 of the bytes.
// derive's FuzzDecodeMessageHashed and FuzzReadConversationHashed hold
// Sum to hashchain.PayloadHash, the reference canonicaliser.
type CanonicalWriter struct {
	st    jcsState
	b     []byte
	in    []byte
	depth int // of the value read next
}

var writerPool = sync.Pool{New: func() any { return new(CanonicalWriter) }}

// NewCanonicalWriter returns a writer for the document in (pooled: Release
// it when done).
func NewCanonicalWriter(in []byte) *CanonicalWriter {
	w := writerPool.Get().(*CanonicalWriter)
	w.in, w.b, w.depth = in, w.b[:0], 0
	w.st.members, w.st.scratch = w.st.members[:0], w.st.scratch[:0]
	return w
}

// Release returns w to the pool; w is not used after.
func (w *CanonicalWriter) Release() {
	w.in = nil
	if cap(w.b) > 1<<20 { // a huge body's buffer is not kept
		return
	}
	writerPool.Put(w)
}

// Object reads the object at in[i] (its opening brace): member is called
// with each decoded key (valid during the call) and the index of its
// value, and must read or write that value (once) and return the index
// past it.
func (w *CanonicalWriter) Object(i int, member func(key []byte, at int) (int, error)) (int, error) {
	if i >= len(w.in) || w.in[i] != '{' || w.depth > maxDepth {
		return i, errNotFast
	}
	w.depth++
	b, end, ok := w.st.objectWith(w.b, w.in, i, func(b, key []byte, at int) ([]byte, int, bool) {
		w.b = b
		end, err := member(key, at)
		return w.b, end, err == nil
	})
	w.depth--
	w.b = b
	if !ok {
		return end, errNotFast
	}
	return end, nil
}

// Array reads the array at in[i] (its opening bracket): elem is called
// with the index of each element, and must read or write it (once) and
// return the index past it.
func (w *CanonicalWriter) Array(i int, elem func(at int) (int, error)) (int, error) {
	if i >= len(w.in) || w.in[i] != '[' || w.depth > maxDepth {
		return i, errNotFast
	}
	w.depth++
	w.b = append(w.b, '[')
	first := true
	end, err := jsonscan.Array(w.in, i, func(at int) (int, error) {
		if !first {
			w.b = append(w.b, ',')
		}
		first = false
		return elem(at)
	})
	w.depth--
	w.b = append(w.b, ']')
	if err != nil {
		return end, errNotFast
	}
	return end, nil
}

// String writes the string at in[i] and returns its decoded value (a
// view of in, or of a buffer reused by the next call: valid until then).
func (w *CanonicalWriter) String(i int) ([]byte, int, error) {
	if i >= len(w.in) || w.in[i] != '"' {
		return nil, i, errNotFast
	}
	end, esc, err := jsonscan.String(w.in, i)
	if err != nil {
		return nil, end, errNotFast
	}
	if !esc {
		w.b = append(w.b, w.in[i:end]...)
		return w.in[i+1 : end-1], end, nil
	}
	s, end, err := jsonscan.AppendString(w.st.scratch[:0], w.in, i)
	if err != nil {
		return nil, end, errNotFast
	}
	w.st.scratch = s
	w.b = jsonscan.AppendStringRFC8785(w.b, string(s))
	return s, end, nil
}

// Value writes the value at in[i] whole, whatever it is.
func (w *CanonicalWriter) Value(i int) (int, error) {
	b, end, ok := w.st.value(w.b, w.in, i, w.depth)
	w.b = b
	if !ok {
		return end, errNotFast
	}
	return end, nil
}

// Sum returns the SHA-256 of the canonical form once the document's top
// value, read or written by the caller, ends at end: ok false when more
// than white space follows it.
func (w *CanonicalWriter) Sum(end int) (hashchain.Hash, bool) {
	if jsonscan.Space(w.in, end) != len(w.in) {
		return hashchain.Hash{}, false
	}
	return sha256.Sum256(w.b), true
}

// SumValue returns the SHA-256 of the canonical form written, for a
// caller that read one value inside a larger document (a message of a
// bulk body, derive.DecodeMessagesIn) and checks what follows it itself.
func (w *CanonicalWriter) SumValue() hashchain.Hash {
	return sha256.Sum256(w.b)
}
