package hashchain

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkLeafHash(b *testing.B) {
	leaf := []byte(messageJSON)
	b.SetBytes(int64(len(leaf)))
	b.ReportAllocs()
	for b.Loop() {
		LeafHash(leaf)
	}
}

func BenchmarkChainLink(b *testing.B) {
	prev, leaf := LeafHash([]byte("a")), LeafHash([]byte("b"))
	b.ReportAllocs()
	for b.Loop() {
		prev = ChainLink(prev, leaf)
	}
}

// BenchmarkRootBuilder measures the cost of one Append (plus the amortized
// root at the end), the per-leaf price of verifying a streamed ledger.
func BenchmarkRootBuilder(b *testing.B) {
	leaves := testLeaves(1 << 12)
	b.ReportAllocs()
	var rb RootBuilder
	i := 0
	for b.Loop() {
		rb.Append(leaves[i&(len(leaves)-1)])
		i++
	}
	_ = rb.Root()
}

func BenchmarkRoot(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16} {
		leaves := testLeaves(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				Root(leaves)
			}
		})
	}
}

func BenchmarkInclusionProof(b *testing.B) {
	leaves := testLeaves(1 << 16)
	for b.Loop() {
		if _, err := InclusionProof(leaves, 12345); err != nil {
			b.Fatal(err)
		}
	}
}

// messageJSON is about 1 KB, shaped like a WhatsApp message entry from the
// Genesys Conversation API.
var messageJSON = `{
  "id": "5b1c8f7e-2d3a-4c9b-9e1f-7a6b5c4d3e2f",
  "conversationId": "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b",
  "timestamp": "2024-03-15T14:22:31.123Z",
  "direction": "inbound",
  "messengerType": "whatsapp",
  "fromAddress": "+15551234567",
  "toAddress": "+15557654321",
  "textBody": "Hello, I would like to follow up on the contract we discussed yesterday. Could you confirm the delivery date and whether the revised terms (clause 4.2, payment within 30 days) are acceptable? Thanks — Jane \u00e9\u00e8 \ud83d\ude00",
  "status": "delivered",
  "media": [
    {"url": "https://api.mypurecloud.com/api/v2/downloads/abc123", "mediaType": "image/jpeg", "contentLengthBytes": 183422, "filename": "scan.jpg"}
  ],
  "stickers": [],
  "normalizedMessage": {"type": "Text", "channel": {"platform": "WhatsApp", "messageId": "wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQUJDMTIzNDU2Nzg5MEFCQ0RFRgA=", "time": "2024-03-15T14:22:31.000Z"}},
  "legalHold": false,
  "retention": {"policyId": "ret-7y", "expires": "2031-03-15T00:00:00Z"},
  "participant": {"id": "p-1", "purpose": "customer", "name": "Jane Doe"},
  "selfUri": "/api/v2/conversations/messages/0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b/messages/5b1c8f7e"
}`

func BenchmarkCanonicalize(b *testing.B) {
	in := []byte(messageJSON)
	if len(in) < 900 || len(in) > 1500 || strings.Count(messageJSON, ":") < 20 {
		b.Fatalf("benchmark input is %d bytes, want about 1 KB", len(in))
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}
