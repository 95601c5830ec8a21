package leaf

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
)

// t0 is the fixed clock of most tests.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// message returns a message entry of about the size exports write
// (~600-byte leaf).
func message(conv string, i int) Entry {
	hold := i%3 == 0
	payload := sha256.Sum256([]byte(fmt.Sprintf("payload %s %d", conv, i)))
	ev := sha256.Sum256([]byte(fmt.Sprintf("evidence %s", conv)))
	return Entry{
		Kind:           KindMessage,
		Matter:         "acme-v-smith",
		At:             t0.Truncate(time.Millisecond),
		ConversationID: conv,
		MessageID:      messageID(conv, i),
		RunID:          "run-0001",
		PayloadSHA256:  hashchain.Hash(payload),
		EvidenceSHA256: hashchain.Hash(ev),
		Source: &Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk",
			Status: 200, CorrelationID: "c0ffee00-1234-4abc-8def-0123456789ab"},
		Compliance: &Compliance{LegalHold: &hold, AuditRefs: []string{"audit-7f3e2a", "audit-7f3e2b"},
			OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		// As exports build it: json.Marshal of a map, so keys come sorted.
		Detail: mustJSON(map[string]any{"direction": "inbound", "messenger_type": "whatsapp", "from": "+15555550100",
			"to": "+15555550199", "content_sha256": strings.Repeat("ab", 32)}),
	}
}

// messageID looks like a Genesys message id: 32 hex digits, random order.
func messageID(conv string, i int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s-msg-%06d", conv, i)))
	return fmt.Sprintf("%x", h[:16])
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// testProofs builds a small signed tree of n message leaves, as a ledger
// would, and returns a proof of every leaf and the verifier key.
func testProofs(t testing.TB, n int) ([]Proof, string) {
	t.Helper()
	const origin = "custody/00000000-0000-4000-8000-000000000001"
	signer, verifier, err := hashchain.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	var hashes []hashchain.Hash
	for i := range n {
		e := message(fmt.Sprintf("conv-%02d", i%4), i)
		b, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaves, hashes = append(leaves, b), append(hashes, hashchain.LeafHash(b))
	}
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: origin, Size: uint64(n), Root: hashchain.Root(hashes)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var out []Proof
	for i := range n {
		path, err := hashchain.InclusionProof(hashes, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Proof{Format: ProofFormat, Index: uint64(i), TreeSize: uint64(n), Leaf: leaves[i],
			LeafHash: hashes[i], Inclusion: path, Checkpoint: note})
	}
	return out, verifier
}
