package derive

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
)

// bulkBody is a bulk-messages response of n WhatsApp messages shaped as
// the simulator sends them (encoding/json order: not canonical).
func bulkBody(n int) []byte {
	var l genesys.TextMessageListing
	for i := range n {
		l.Entities = append(l.Entities, genesys.MessageData{
			ID: fmt.Sprintf("%032x", i), Timestamp: "2024-03-01T20:07:38.363Z", ProviderMessageID: fmt.Sprintf("wamid.%040d", i),
			FromAddress: "+4915973387921", ToAddress: "+13265553094", Direction: "inbound", MessengerType: "whatsapp",
			TextBody: "Guten Tag, ich möchte meine Bestellung 4711 ändern — bitte rufen Sie mich zurück 🙂", Status: "received",
			NormalizedMessage: &genesys.NormalizedMessage{ID: fmt.Sprintf("%032x", i), Type: "Text", Text: "Guten Tag …",
				Channel: &genesys.MessagingChannel{Platform: "WhatsApp", Type: "Private", MessageID: "wamid.x", Time: "2024-03-01T20:07:38.363Z",
					From: &genesys.Recipient{ID: "+4915973387921", IDType: "Phone", Nickname: "Kunde"}, To: &genesys.Recipient{ID: "+13265553094", IDType: "Phone"}},
				Content: []genesys.MessageContent{{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a1", MediaType: "Image",
					URL: "https://example.invalid/a1", Mime: "image/jpeg", Sha256: "ab", ContentSizeBytes: 12345}}}},
			ConversationID: "0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80", SelfURI: "/api/v2/conversations/messages/x/messages/y",
		})
	}
	b, err := json.Marshal(l)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkReadBulk is what re-deriving costs per bulk body: split it and
// decode and hash every message, with the fast paths (MessagesIn,
// PayloadHash), in one scan (DecodeMessagesIn) and with their references
// (encoding/json's split, hashchain.PayloadHash).
func BenchmarkReadBulk(b *testing.B) {
	body := bulkBody(12)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			list, err := MessagesIn(body)
			if err != nil {
				b.Fatal(err)
			}
			for _, raw := range list {
				if _, _, err := DecodeMessage(raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("one-scan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			list, err := DecodeMessagesIn(body)
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range list {
				if d.Err != nil {
					b.Fatal(d.Err)
				}
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var top struct {
				Entities []json.RawMessage `json:"entities"`
			}
			if err := json.Unmarshal(body, &top); err != nil {
				b.Fatal(err)
			}
			for _, raw := range top.Entities {
				var md genesys.MessageData
				if err := json.Unmarshal(raw, &md); err != nil {
					b.Fatal(err)
				}
				if _, err := hashchain.PayloadHash(raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
