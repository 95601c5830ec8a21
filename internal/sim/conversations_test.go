package sim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

func TestMessageConversation(t *testing.T) {
	s, c := start(t, sim.Options{})
	o := s.Org
	// A long WhatsApp conversation with an attachment.
	idx := -1
	for i := range o.Len() {
		cd := o.ConversationAt(i)
		if cd.Kind == sim.KindWhatsApp && len(cd.Messages) > 5 && len(cd.Attachments) > 0 {
			idx = i
			break
		}
	}
	if idx < 0 {
		t.Fatal("no suitable conversation")
	}
	want := o.ConversationAt(idx)
	id := want.ID
	mc := decode[genesys.MessageConversation](t, c.must(200, "GET", "/api/v2/conversations/messages/"+id, nil))
	if mc.ID != id || len(mc.Participants) < 3 {
		t.Fatalf("message conversation %+v", mc)
	}
	var ids []string
	purposes := map[string]bool{}
	for _, p := range mc.Participants {
		purposes[p.Purpose] = true
		if p.Purpose == "customer" && (len(p.Attributes) == 0 || !strings.HasPrefix(p.Address, "+") || p.Type != "whatsapp") {
			t.Fatalf("customer participant %+v", p)
		}
		for _, m := range p.Messages {
			ids = append(ids, m.MessageID)
		}
	}
	if !purposes["customer"] || !purposes["agent"] || len(ids) != len(want.Messages) {
		t.Fatalf("purposes %v, %d message ids for %d messages", purposes, len(ids), len(want.Messages))
	}

	// Single message: content only in normalizedMessage, as today (the
	// removed useNormalizedMessage parameter is ignored, whatever its value).
	m0 := want.Messages[0]
	for _, q := range []string{"", "?useNormalizedMessage=false", "?useNormalizedMessage=yes"} {
		got := decode[genesys.MessageData](t, c.must(200, "GET", fmt.Sprintf("/api/v2/conversations/messages/%s/messages/%s%s", id, m0.ID, q), nil))
		if got.ID != m0.ID || got.Timestamp != m0.Timestamp || got.TextBody != "" || got.NormalizedMessage.Text != m0.TextBody || got.NormalizedMessage.Channel.Platform != "Whatsapp" {
			t.Fatalf("message %+v, want %+v", got, m0)
		}
	}

	// Bulk: every id, request order, attachments in normalizedMessage only.
	rev := make([]string, len(ids))
	for k := range ids {
		rev[k] = ids[len(ids)-1-k]
	}
	bulk := decode[genesys.TextMessageListing](t, c.must(200, "POST", "/api/v2/conversations/messages/"+id+"/messages/bulk", rev))
	if len(bulk.Entities) != len(ids) {
		t.Fatalf("bulk returned %d of %d", len(bulk.Entities), len(ids))
	}
	media := 0
	signed := map[string]string{} // attachment id → url as served
	for k, e := range bulk.Entities {
		if e.ID != rev[k] {
			t.Fatalf("bulk entity %d is %s, want %s", k, e.ID, rev[k])
		}
		if e.TextBody != "" || e.Media != nil || e.NormalizedMessage == nil {
			t.Fatalf("entity keeps the removed fields: %+v", e)
		}
		for _, ct := range e.NormalizedMessage.Content {
			if ct.Attachment != nil {
				media++
				signed[ct.Attachment.ID] = ct.Attachment.URL
			}
		}
	}
	if media == 0 {
		t.Fatal("bulk lost the attachments")
	}
	// Unknown ids are left out.
	part := decode[genesys.TextMessageListing](t, c.must(200, "POST", "/api/v2/conversations/messages/"+id+"/messages/bulk", []string{ids[0], "ffffffffffffffffffffffffffffffff"}))
	if len(part.Entities) != 1 {
		t.Fatalf("bulk with an unknown id returned %d entities", len(part.Entities))
	}

	// The attachment downloads and matches its sha256.
	a := want.Attachments[0]
	resp, err := http.Get(signed[a.ID])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(b)
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != a.Sha256 || resp.Header.Get("Content-Type") != a.Mime {
		t.Fatalf("media download: %d, %d bytes, type %s", resp.StatusCode, len(b), resp.Header.Get("Content-Type"))
	}
	resp, _ = http.Get(s.SignMediaURL(s.MediaURL+"/sim/media/00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000", time.Now().Add(time.Hour).Unix(), 0))
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("unknown media: %d", resp.StatusCode)
	}

	t.Run("errors", func(t *testing.T) {
		voice := o.ConversationID(firstKind(t, o, sim.KindVoice))
		tooMany := make([]string, 1001)
		for k := range tooMany {
			tooMany[k] = ids[0]
		}
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
		}{
			{"unknown conversation", "GET", "/api/v2/conversations/messages/4b0fe0c5-0000-4000-8000-000000000001", nil, 404},
			{"voice has no messages", "GET", "/api/v2/conversations/messages/" + voice, nil, 404},
			{"unknown message", "GET", "/api/v2/conversations/messages/" + id + "/messages/abc", nil, 404},
			{"bulk over 1000", "POST", "/api/v2/conversations/messages/" + id + "/messages/bulk", tooMany, 400},
			{"bulk not an array", "POST", "/api/v2/conversations/messages/" + id + "/messages/bulk", `{"ids":[]}`, 400},
			{"bulk bad json", "POST", "/api/v2/conversations/messages/" + id + "/messages/bulk", `["a",`, 400},
			{"bulk unknown conversation", "POST", "/api/v2/conversations/messages/nope/messages/bulk", `["a"]`, 404},
			{"unknown conversation (plain)", "GET", "/api/v2/conversations/nope", nil, 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, b := c.do(tc.method, tc.path, tc.body)
				errBody(t, resp, b, tc.status)
			})
		}
	})
}

func TestGetConversation(t *testing.T) {
	s, c := start(t, sim.Options{})
	for _, kind := range []string{sim.KindWhatsApp, sim.KindVoice, sim.KindSMS} {
		i := firstKind(t, s.Org, kind)
		id := s.Org.ConversationID(i)
		conv := decode[genesys.Conversation](t, c.must(200, "GET", "/api/v2/conversations/"+id, nil))
		want := s.Org.ConversationAt(i)
		if conv.ID != id || conv.StartTime != want.Analytics.ConversationStart || len(conv.Participants) != len(want.Conversation.Participants) {
			t.Fatalf("%s: conversation %+v", kind, conv)
		}
	}
}

func TestCallerOrgGetsMediaBaseURL(t *testing.T) {
	o := sim.NewOrg(sim.OrgConfig{Seed: 8, Conversations: 100})
	s, _ := start(t, sim.Options{Org: o})
	n := 0
	for i := range o.Len() {
		for _, a := range o.ConversationAt(i).Attachments {
			if !strings.HasPrefix(a.URL, s.MediaURL+"/sim/media/") || s.MediaURL == s.APIURL {
				t.Fatalf("attachment url %q not on the server's media host %s", a.URL, s.MediaURL)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no attachment in 100 conversations")
	}
}
