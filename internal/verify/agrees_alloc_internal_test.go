//go:build !race

// Under the race detector sync.Pool drops what it is given at random:
// allocation counts mean nothing there.

package verify

import "testing"

// TestMessageRestAllocs: a v3 message that agrees with its evidence is
// judged with one allocation, the content hash's string
// (genesys.ContentHash): verify --evidence judges every message so
// (issue 16).
func TestMessageRestAllocs(t *testing.T) {
	c := derivedCase(t, agreeMessage(), nil, true)
	lc := c.e.Compliance
	if fs := messageRest(&c.e, c.md, c.payload, lc, c.held, c.refs, sources{}, nil, c.op, nil); len(fs) > 0 {
		t.Fatalf("findings %v", fs)
	}
	if n := testing.AllocsPerRun(100, func() {
		messageRest(&c.e, c.md, c.payload, lc, c.held, c.refs, sources{}, nil, c.op, nil)
	}); n > 1 {
		t.Fatalf("%v allocations a message, want 1", n)
	}
}
