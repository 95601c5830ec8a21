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
	cpJSON, err := jsonString(cp)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 5 {
		p := leaf.Proof{Format: leaf.ProofFormat, Index: uint64(n), TreeSize: 1 << 40, Leaf: bytes.Repeat([]byte{0xfb, '"', 0}, n*7+1),
			LeafHash: hashchain.LeafHash([]byte{byte(n)}), Checkpoint: []byte(cp)}
		for i := range n {
			p.Inclusion = append(p.Inclusion, hashchain.LeafHash([]byte{byte(i), 1}))
		}
		want, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if got := appendProof(nil, &p, cpJSON); !bytes.Equal(got, want) {
			t.Fatalf("proof %d:\n got %s\nwant %s", n, got, want)
		}
	}
}
