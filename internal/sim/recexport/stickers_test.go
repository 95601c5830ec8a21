package recexport

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// mediaAndSticker is a WhatsApp conversation of org one of whose
// messages has a photo (or document…) and a sticker, and that message's
// id: model Recordingmessagingmessage keeps media and stickers in two
// lists side by side, so such a message is one the generator must write
// whole. (The org sends a sticker alone; a second attachment is added.)
func mediaAndSticker(t *testing.T, org *sim.Org) (*sim.ConvData, string) {
	t.Helper()
	for i := range org.Len() {
		c := org.ConversationAt(i)
		if c.Kind != sim.KindWhatsApp {
			continue
		}
		for k := range c.Messages {
			m := &c.Messages[k]
			if len(m.Media) != 1 || m.NormalizedMessage == nil || len(m.NormalizedMessage.Content) != 1 || m.NormalizedMessage.Content[0].Attachment == nil {
				continue
			}
			s := sim.Attachment{ID: m.Media[0].ID + "-sticker", MessageID: m.ID, MediaType: "Image", Mime: "image/webp",
				Filename: "sticker.webp", Size: 4096, URL: "https://media.test/sim/media/" + m.Media[0].ID + "-sticker", Sticker: true}
			m.Media = append(m.Media, genesys.MessageMedia{ID: s.ID, Name: s.Filename, URL: s.URL, MediaType: s.Mime, ContentLengthBytes: s.Size})
			m.NormalizedMessage.Content = append(m.NormalizedMessage.Content, genesys.MessageContent{ContentType: "Attachment",
				Attachment: &genesys.ContentAttachment{ID: s.ID, MediaType: s.MediaType, URL: s.URL, Mime: s.Mime, Filename: s.Filename, ContentSizeBytes: s.Size}})
			c.Attachments = append(c.Attachments, s)
			return c, m.ID
		}
	}
	t.Fatal("no WhatsApp message with one attachment")
	return nil, ""
}

// TestMediaAndSticker: a message with media and a sticker is written with
// both, its media in messageMediaAttachments and its sticker in
// messageStickerAttachments (as the simulator's recordings give them), and
// the diff reads both as one set: clean, it finds nothing on them; with
// the message's attachments left out, both lists go (one field_stripped);
// with one replaced — of either list, over the seeds — one value_altered.
// The findings on attachments are the manifest's exactly.
func TestMediaAndSticker(t *testing.T) {
	ctx := context.Background()
	org := testOrg()
	c, msgID := mediaAndSticker(t, org)
	m, _ := c.Message(msgID)
	idx := &diff.MemIndex{}
	for k := range c.Messages {
		idx.Add(diff.CaptureOf(&c.Messages[k], c.ID, &c.LegalHold, nil, 0))
	}
	replaced := map[string]bool{} // which list a replacement hit
	for _, tc := range []struct {
		name          string
		drop, replace float64
		want          finding.Kind
	}{
		{"clean", 0, 0, ""},
		{"left out", 1, 0, finding.FieldStripped},
		{"replaced", 0, 1, finding.ValueAltered},
	} {
		for seed := range uint64(8) {
			p := CleanProfile(ShapeGenesys, seed+1)
			p.DropAttachments, p.ReplaceAttachments = tc.drop, tc.replace
			dir := t.TempDir()
			res, err := exportConversation(ctx, org.OrgID(), c, Target{Dir: dir}, &p)
			if err != nil {
				t.Fatal(err)
			}
			var rm *genesys.RecordingMessagingMessage
			for name := range tree(t, dir) {
				if strings.HasSuffix(name, "_metadata.json") {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				var rec genesys.Recording
				if err := json.Unmarshal(b, &rec); err != nil {
					t.Fatal(err)
				}
				for k := range rec.MessagingTranscript {
					if rec.MessagingTranscript[k].ID == msgID {
						rm = &rec.MessagingTranscript[k]
					}
				}
			}
			if rm == nil {
				t.Fatalf("%s: message %s not written", tc.name, msgID)
			}
			ms, ss := len(rm.MessageMediaAttachments), len(rm.MessageStickerAttachments)
			switch tc.want {
			case "":
				if ms != 1 || ss != 1 || rm.MessageMediaAttachments[0].ID != m.Media[0].ID || rm.MessageStickerAttachments[0].ID != m.Media[1].ID {
					t.Fatalf("%s: media %+v, stickers %+v; want %s and %s", tc.name, rm.MessageMediaAttachments, rm.MessageStickerAttachments, m.Media[0].ID, m.Media[1].ID)
				}
			case finding.FieldStripped:
				if ms != 0 || ss != 0 {
					t.Fatalf("%s: media %+v, stickers %+v left", tc.name, rm.MessageMediaAttachments, rm.MessageStickerAttachments)
				}
			case finding.ValueAltered:
				if ms != 1 || ss != 1 {
					t.Fatalf("%s: media %+v, stickers %+v", tc.name, rm.MessageMediaAttachments, rm.MessageStickerAttachments)
				}
				replaced["media"] = replaced["media"] || rm.MessageMediaAttachments[0].ID != m.Media[0].ID
				replaced["sticker"] = replaced["sticker"] || rm.MessageStickerAttachments[0].ID != m.Media[1].ID
			}
			var want, got []string
			for _, d := range res.damages {
				if d.Field == finding.FieldAttachments {
					want = append(want, string(d.Kind)+" "+d.MessageID)
				}
			}
			src, err := exportfile.NewDirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = diff.Run(ctx, src, idx, diff.Options{}, func(f diff.Finding) error {
				if f.Field == finding.FieldAttachments {
					got = append(got, string(f.Kind)+" "+f.MessageID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && !slices.Contains(want, string(tc.want)+" "+msgID) {
				t.Errorf("%s, seed %d: manifest %v names no %s of %s", tc.name, seed+1, want, tc.want, msgID)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s, seed %d: findings on attachments %v, manifest %v", tc.name, seed+1, got, want)
			}
		}
	}
	if !replaced["media"] || !replaced["sticker"] {
		t.Errorf("replacements hit %v: want media and sticker both, over the seeds", replaced)
	}
}
