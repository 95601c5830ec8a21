package produce

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

func TestAppendProof(t *testing.T) {
	cp := "custody/ledger\n12\nq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=\n\n— custody/ledger abc+/<&>\u2028\n"
	for n := range 5 {
		// Proofs 2 and up carry n-2 timestamp tokens, with a TSA URL
		// encoding/json escapes.
		var ts []leaf.ProofTimestamp
		for i := range max(n-2, 0) {
			ts = append(ts, leaf.ProofTimestamp{TSA: "http://tsa.example/?a=1&b=<2>\"" + string(rune('a'+i)), Token: bytes.Repeat([]byte{0x30, byte(i), 0xff}, 40+i)})
		}
		tail, err := proofTail([]byte(cp), ts)
		if err != nil {
			t.Fatal(err)
		}
		p := leaf.Proof{Format: leaf.ProofFormat, Index: uint64(n), TreeSize: 1 << 40, Leaf: bytes.Repeat([]byte{0xfb, '"', 0}, n*7+1),
			LeafHash: hashchain.LeafHash([]byte{byte(n)}), Checkpoint: []byte(cp), Timestamps: ts}
		for i := range n {
			p.Inclusion = append(p.Inclusion, hashchain.LeafHash([]byte{byte(i), 1}))
		}
		want, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if got := appendProof(nil, &p, tail); !bytes.Equal(got, want) {
			t.Fatalf("proof %d:\n got %s\nwant %s", n, got, want)
		}
	}
}
