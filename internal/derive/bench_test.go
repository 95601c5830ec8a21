package derive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// realisticBody is a bulk body of the sample messages in about the mix of
// a kept matter's (bench verify's 19,513 messages: 84 % text without
// content, 9 % with an attachment, 3 % templates, the rest buttons,
// locations, quick replies, list pickers, events): each text sample
// (no content) four times, the other samples once each, 24 messages in
// all, the order fixed.
func realisticBody(t testing.TB) []byte {
	samples := sampleMessages(t)
	var parts [][]byte
	for round := range 4 {
		for i, raw := range samples {
			var m struct {
				NormalizedMessage struct {
					Type    string
					Content []json.RawMessage
				}
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			plain := m.NormalizedMessage.Type == "Text" && len(m.NormalizedMessage.Content) == 0
			if plain || round == 0 && i%3 == 0 {
				parts = append(parts, raw)
			}
		}
	}
	return append(append([]byte(`{"entities":[`), bytes.Join(parts, []byte(","))...), `],"pageSize":25}`...)
}

// BenchmarkDecodeMessagesIn is DecodeMessagesIn, verify --evidence's
// re-derivation of a bulk body (split, decode and canonicalise each
// message, hash it), per message: over realisticBody, and with
// CUSTODY_VERIFY_MATTER naming a kept matter (custody bench verify
// --keep), over every bulk body among its evidence objects.
func BenchmarkDecodeMessagesIn(b *testing.B) {
	run := func(b *testing.B, bodies [][]byte) {
		n, size := 0, 0
		for _, body := range bodies {
			list, err := DecodeMessagesIn(body)
			if err != nil {
				b.Fatal(err)
			}
			n, size = n+len(list), size+len(body)
		}
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				list, err := DecodeMessagesIn(body)
				if err != nil {
					b.Fatal(err)
				}
				for i := range list {
					if list[i].Err != nil {
						b.Fatal(list[i].Err)
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
	}
	b.Run("mix", func(b *testing.B) { run(b, [][]byte{realisticBody(b)}) })
	b.Run("matter", func(b *testing.B) {
		dir := os.Getenv("CUSTODY_VERIFY_MATTER")
		if dir == "" {
			b.Skip("CUSTODY_VERIFY_MATTER names no matter folder")
		}
		var bodies [][]byte
		err := filepath.WalkDir(filepath.Join(dir, "evidence", "sha256"), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			body, err := os.ReadFile(p)
			if err == nil && bytes.HasPrefix(body, []byte(`{"entities":[`)) {
				bodies = append(bodies, body)
			}
			return err
		})
		if err != nil || len(bodies) == 0 {
			b.Fatalf("no bulk bodies in %s: %v", dir, err)
		}
		run(b, bodies)
	})
}
