package produce

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzReadRSMF: an .rsmf file is hostile input; ReadRSMF returns an error,
// never panics, and what it accepts validates.
func FuzzReadRSMF(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(refDir, "sample3_message.eml")); err == nil {
		f.Add(b)
	}
	zipData, _ := buildZip([]zipFile{{name: RSMFManifest, data: []byte(`{"version":"2.0.0","participants":[{"id":"p"}],"conversations":[{"id":"c","platform":"whatsapp","participants":["p"]}],"events":[{"type":"message","participant":"p","conversation":"c"}]}`)}})
	good, err := buildRSMF(rsmfHeaders{From: rsmfMailbox{"a", "a"}, Date: time.Unix(0, 0), Begin: time.Unix(0, 0), End: time.Unix(0, 0)}, "hi\n", zipData)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("X-RSMF-Version: 2.0.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadRSMF(data)
		if err != nil {
			return
		}
		if err := ValidateManifest(r.Manifest, nil); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
	})
}

// TestCheckRSMFRejects holds the typed checks to the rules the schema and
// the spec state.
func TestCheckRSMFRejects(t *testing.T) {
	good := func() *RSMF {
		return &RSMF{Version: RSMFVersion,
			Participants:  []RSMFParticipant{{ID: "p"}, {ID: "q"}},
			Conversations: []RSMFConversation{{ID: "c", Platform: "whatsapp", Type: "direct", Participants: []string{"p", "q"}, Custodian: "p"}},
			Events: []RSMFEvent{{Type: "message", Participant: "p", Conversation: "c", Timestamp: "2024-01-01T00:00:00.000Z",
				Attachments: []RSMFAttachment{{ID: "a.png"}}, ReadReceipts: []RSMFReadReceipt{{Participant: "q", Action: "read"}},
				Custom: []RSMFCustom{{Name: "n", Value: "v"}}}}}
	}
	zip := map[string]bool{"a.png": true}
	if err := checkRSMF(good(), zip); err != nil {
		t.Fatal(err)
	}
	b, _ := marshalRSMF(good())
	if err := ValidateManifest(b, zip); err != nil {
		t.Fatalf("the schema refuses what checkRSMF accepts: %v", err)
	}
	for name, breakIt := range map[string]func(*RSMF){
		"empty custom value":     func(m *RSMF) { m.Events[0].Custom[0].Value = "" },
		"undefined sender":       func(m *RSMF) { m.Events[0].Participant = "x" },
		"undefined conversation": func(m *RSMF) { m.Events[0].Conversation = "x" },
		"attachment not in zip":  func(m *RSMF) { m.Events[0].Attachments[0].ID = "b.png" },
		"custodian not member":   func(m *RSMF) { m.Conversations[0].Custodian = "x" },
		"bad type":               func(m *RSMF) { m.Events[0].Type = "chat" },
		"bad receipt":            func(m *RSMF) { m.Events[0].ReadReceipts[0].Action = "seen" },
		"duplicate participant":  func(m *RSMF) { m.Participants[1].ID = "p" },
		"bad timestamp":          func(m *RSMF) { m.Events[0].Timestamp = "yesterday" },
	} {
		t.Run(name, func(t *testing.T) {
			m := good()
			breakIt(m)
			if err := checkRSMF(m, zip); !errors.Is(err, ErrInvalidRSMF) {
				t.Fatalf("accepted: %v", err)
			}
			b, _ := marshalRSMF(m)
			if err := ValidateManifest(b, zip); err == nil && !strings.Contains(name, "timestamp") {
				t.Errorf("ValidateManifest accepted it")
			}
		})
	}
}
