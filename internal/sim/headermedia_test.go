package sim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestTemplateHeaderMediaGenerated: a share of agent messages in WhatsApp
// conversations are templates whose header is media (template.header.media
// with id, mediaType, url, mime, sha256, filename, contentSizeBytes), the
// same for the same seed; the media is among the conversation's
// Attachments (TemplateHeader) and served like any.
func TestTemplateHeaderMediaGenerated(t *testing.T) {
	cfg := sim.OrgConfig{Seed: 11, Conversations: 300, OtherMediaShare: 0.2}
	o := sim.NewOrg(cfg)
	agent, templates := 0, 0
	var ids []string
	for i := range o.Len() {
		cd := o.ConversationAt(i)
		if cd.Kind != sim.KindWhatsApp {
			for _, a := range cd.Attachments {
				if a.TemplateHeader {
					t.Fatalf("%s conversation %s has template header media", cd.Kind, cd.ID)
				}
			}
			continue
		}
		header := map[string]sim.Attachment{}
		for _, a := range cd.Attachments {
			if a.TemplateHeader {
				header[a.MessageID] = a
			}
		}
		for _, m := range cd.Messages {
			if m.Direction == "outbound" && m.CreatedBy != nil {
				agent++
			}
			a, ok := header[m.ID]
			if !ok {
				continue
			}
			templates++
			ids = append(ids, a.ID)
			nm := m.NormalizedMessage
			if m.Direction != "outbound" || m.CreatedBy == nil || nm.Type != "Structured" || len(nm.Content) != 1 || m.TextBody != "" || nm.Text != "" {
				t.Fatalf("message %s with header media: %+v", m.ID, m)
			}
			tm := nm.Content[0].Template
			if nm.Content[0].ContentType != "Notification" || tm == nil || tm.Header == nil || tm.Header.Type != "Media" || tm.Header.Media == nil || tm.Body == nil {
				t.Fatalf("message %s: content %+v", m.ID, nm.Content[0])
			}
			want := genesys.ContentAttachment{ID: a.ID, MediaType: a.MediaType, URL: a.URL, Mime: a.Mime, Sha256: a.Sha256, Filename: a.Filename, ContentSizeBytes: a.Size}
			if *tm.Header.Media != want {
				t.Fatalf("message %s: header media %+v, want %+v", m.ID, *tm.Header.Media, want)
			}
			b, mime, ok := o.Media(a.ID)
			sum := sha256.Sum256(b)
			if !ok || mime != a.Mime || len(b) != a.Size || hex.EncodeToString(sum[:]) != a.Sha256 {
				t.Fatalf("header media %s: served %v %s %d bytes", a.ID, ok, mime, len(b))
			}
		}
	}
	share := float64(templates) / float64(agent)
	t.Logf("%d of %d agent messages are templates with header media (%.3f)", templates, agent, share)
	if share < 0.02 || share > 0.08 {
		t.Errorf("share %.3f of agent messages with header media, want about 0.05", share)
	}
	// The same seed, the same media.
	again := sim.NewOrg(cfg)
	var ids2 []string
	for i := range again.Len() {
		for _, a := range again.ConversationAt(i).Attachments {
			if a.TemplateHeader {
				ids2 = append(ids2, a.ID)
			}
		}
	}
	if !reflect.DeepEqual(ids, ids2) {
		t.Fatal("the same seed gave other header media")
	}
}

// TestTemplateHeaderMediaServed: the messages API serves a template's
// header media url pre-signed like an attachment's, expiring 30 days after
// the message; the conversation's recording gives the template in its
// transcript (notificationTemplate, with header.media's url pre-signed for
// an hour from the request), which keeps serving the bytes after that.
// Both hold to the SDK models (of the recording, its templates).
func TestTemplateHeaderMediaServed(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	s, c := start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 11, Conversations: 60, Start: now.Add(-20 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)},
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         clk.Now,
	})
	sc := loadSchema(t)
	var cd *sim.ConvData
	var at sim.Attachment
	for i := range s.Org.Len() {
		for _, a := range s.Org.ConversationAt(i).Attachments {
			if a.TemplateHeader && cd == nil {
				cd, at = s.Org.ConversationAt(i), a
			}
		}
	}
	if cd == nil {
		t.Fatal("no template with header media in the org")
	}
	body := c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+at.MessageID, nil)
	for _, e := range sc.Check("Messagedata", body) {
		t.Error(e)
	}
	m := decode[genesys.MessageData](t, body)
	hm := m.NormalizedMessage.Content[0].Template.Header.Media
	msgTime, _ := time.Parse(time.RFC3339Nano, m.Timestamp)
	if !strings.HasPrefix(hm.URL, s.MediaURL+"/sim/media/"+at.ID+"?") || !strings.Contains(hm.URL, sim.MediaExpiresParam+"="+itoa(msgTime.Add(sim.DefaultMediaURLTTL).Unix())) {
		t.Fatalf("header media url %q is not pre-signed until 30 days after the message", hm.URL)
	}
	if orig, _ := cd.Message(at.MessageID); orig.NormalizedMessage.Content[0].Template.Header.Media.URL != at.URL {
		t.Fatal("serving the message signed the org's own copy")
	}
	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := get(hm.URL)
	if sum := sha256.Sum256(b); code != 200 || hex.EncodeToString(sum[:]) != at.Sha256 {
		t.Fatalf("header media: %d, %d bytes", code, len(b))
	}
	clk.Advance(25 * 24 * time.Hour) // past the 30 days
	if code, _ := get(hm.URL); code != 403 {
		t.Fatalf("header media url past 30 days: %d, want 403", code)
	}
	c.tok = c.token() // the first expired with the clock
	rb := c.must(200, "GET", "/api/v2/conversations/"+cd.ID+"/recordings", nil)
	for _, e := range sc.Check("[]Recording", rb) {
		if strings.Contains(e, "notificationTemplate") { // the template this test is about
			t.Error(e)
		}
	}
	var u string
	for _, rm := range decode[[]genesys.Recording](t, rb)[0].MessagingTranscript {
		if tm := rm.NotificationTemplate; rm.ID == at.MessageID && tm != nil && tm.Header != nil && tm.Header.Media != nil {
			if tm.Header.Type != "Media" || tm.Header.Media.ID != at.ID || tm.Header.Media.FileName != at.Filename || tm.Header.Media.Mime != at.Mime {
				t.Fatalf("recording's template header %+v", tm.Header)
			}
			u = tm.Header.Media.URL
		}
	}
	if !strings.Contains(u, sim.MediaExpiresParam+"="+itoa(clk.Now().Add(genesys.RecordingURLLife).Unix())) {
		t.Fatalf("recording's header media url %q does not end an hour after the request", u)
	}
	if code, b := get(u); code != 200 || len(b) != at.Size {
		t.Fatalf("recording's header media: %d, %d bytes", code, len(b))
	}
}
