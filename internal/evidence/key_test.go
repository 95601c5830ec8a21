package evidence_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestKeyDefinition: Key (written into one buffer) is the definition,
// "sha256/" + the first two hex digits + "/" + the 64, over many sums; and
// ParseKey inverts it.
func TestKeyDefinition(t *testing.T) {
	for i := range 1000 {
		sum := hashchain.Hash(sha256.Sum256(fmt.Appendf(nil, "%d", i)))
		h := sum.String()
		want := evidence.Dir + "/" + h[:2] + "/" + h
		got := evidence.Key(sum)
		if got != want {
			t.Fatalf("Key %q, want %q", got, want)
		}
		if back, ok := evidence.ParseKey(got); !ok || back != sum {
			t.Fatalf("ParseKey(%q) = %v, %v", got, back, ok)
		}
	}
}
