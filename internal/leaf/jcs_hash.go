package leaf

import (
	"crypto/sha256"
	"sync"

	"github.com/custodyhq/custody/internal/hashchain"
)

// CanonicalSHA256 is the SHA-256 of CanonicalDetail(raw), the payload hash
// of a message or conversation object, without a new output buffer and
// member stack a call: the fast path writes into pooled ones (each message
// is hashed so in export and again in verify's re-derivation, on every
// processor). Its answer is CanonicalDetail's, hashed:
// TestCanonicalSHA256 and FuzzCanonicalDetail hold it so.
func CanonicalSHA256(raw []byte) (hashchain.Hash, error) {
	if isCanonical(raw) {
		return sha256.Sum256(raw), nil
	}
	st := jcsPool.Get().(*jcsPooled)
	out, ok := st.appendJCS(st.buf[:0], raw)
	var sum hashchain.Hash
	if ok {
		sum = sha256.Sum256(out)
	}
	if cap(out) <= 1<<20 { // a huge body's buffer is not kept
		st.buf = out[:0]
		st.members, st.scratch = st.members[:0], st.scratch[:0]
		jcsPool.Put(st)
	}
	if ok {
		return sum, nil
	}
	c, err := CanonicalDetail(raw)
	if err != nil {
		return hashchain.Hash{}, err
	}
	return sha256.Sum256(c), nil
}

type jcsPooled struct {
	jcsState
	buf []byte
}

var jcsPool = sync.Pool{New: func() any { return new(jcsPooled) }}
