package sim_test

import (
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestWhatsAppContentTypes: a WhatsApp org carries every structured
// content type the simulator generates — templates, quick replies, lists,
// the three kinds of button answer, locations, stickers, reactions,
// typing events and failed deliveries with a reason — each message as the
// API serves it passes the SDK models, and the text custody hashes
// (genesys.MessageText) of a served message equals that of the generator's
// message, from which recording exports are written.
func TestWhatsAppContentTypes(t *testing.T) {
	sc := loadSchema(t)
	s, _ := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 5, Conversations: 400, OtherMediaShare: 0.01}})
	seen := map[string]int{}
	for i := range s.Org.Len() {
		c := s.Org.ConversationAt(i)
		for k := range c.Messages {
			m := &c.Messages[k]
			served := s.ServedMessage(*m)
			b, err := json.Marshal(served)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range sc.Check("Messagedata", b) {
				t.Fatalf("%s: %s", c.ID, e)
			}
			if got, want := genesys.MessageText(&served), genesys.MessageText(m); got != want {
				t.Fatalf("%s/%s: served text %q, generated %q", c.ID, m.ID, got, want)
			}
			nm := served.NormalizedMessage
			for _, ct := range nm.Content {
				key := ct.ContentType
				switch {
				case ct.ButtonResponse != nil:
					key += "/" + ct.ButtonResponse.Type
				case ct.Attachment != nil && ct.Attachment.Mime == "image/webp":
					key = "sticker"
					if body, mime, ok := s.Org.Media(ct.Attachment.ID); !ok || mime != "image/webp" || len(body) != ct.Attachment.ContentSizeBytes {
						t.Fatalf("sticker %s not served: %v %s", ct.Attachment.ID, ok, mime)
					}
				}
				seen[key]++
			}
			for _, e := range nm.Events {
				seen["event/"+e.EventType]++
			}
			for _, r := range served.NormalizedReceipts {
				if r.Status == "Failed" && len(r.Reasons) == 1 {
					seen["failed receipt"]++
				}
			}
		}
	}
	for _, want := range []string{"Notification", "QuickReply", "ListPicker", "ButtonResponse/QuickReply", "ButtonResponse/ListPicker",
		"ButtonResponse/Button", "Location", "sticker", "Reactions", "Attachment", "event/Typing", "failed receipt"} {
		if seen[want] == 0 {
			t.Errorf("no %s in the org: %v", want, seen)
		}
	}
	t.Logf("content seen: %v", seen)
}

// TestContentDeterministic: the same seed gives the same structured
// content (two orgs made apart).
func TestContentDeterministic(t *testing.T) {
	cfg := sim.OrgConfig{Seed: 9, Conversations: 60}
	a, b := sim.NewOrg(cfg), sim.NewOrg(cfg)
	for i := range a.Len() {
		x, _ := json.Marshal(a.ConversationAt(i).Messages)
		y, _ := json.Marshal(b.ConversationAt(i).Messages)
		if string(x) != string(y) {
			t.Fatalf("conversation %d differs between two orgs of one seed", i)
		}
	}
}
