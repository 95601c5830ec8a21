package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"

	"github.com/custodyhq/custody/internal/genesys"
)

// getConversationRecordings is GET
// /api/v2/conversations/{conversationId}/recordings: the conversation's
// recordings in the Recordings service. A message conversation has one,
// its messagingTranscript, whose attachments' urls (and those of its
// templates' header media, in notificationTemplate) are pre-signed for the
// media listener for genesys.RecordingURLLife from the request, not
// MediaURLTTL from the message: the Recordings service keeps its copies
// after the messages API's urls stop working. maxWaitMs and formatId are
// accepted and ignored (a transcript needs no transcoding).
func (s *Server) getConversationRecordings(w *resp, r *http.Request) {
	if s.opts.RecordingsForbidden {
		w.error(http.StatusForbidden, "missing.any.permissions", "Unable to perform the requested action. You must have at least one of the following permissions assigned: [recording:recording:view]")
		return
	}
	c, ok := s.messageConv(w, r.PathValue("conversationId"))
	if !ok {
		return
	}
	if s.opts.RecordingsNotReady {
		w.noContent(http.StatusAccepted)
		return
	}
	now := s.now()
	expires, signedAt := now.Add(genesys.RecordingURLLife).Unix(), now.UnixNano()
	who := map[string]genesys.MessageMediaParticipant{}
	for _, p := range c.MessageConversation.Participants {
		for _, md := range p.Messages {
			who[md.MessageID] = p
		}
	}
	rec := genesys.Recording{
		ID:             uuidOf(s.Org.cfg.Seed, tagRecording, uint64(c.Index)),
		ConversationID: c.ID,
		StartTime:      c.Start.UTC().Format(genesys.TimeLayout),
		EndTime:        c.End.UTC().Format(genesys.TimeLayout),
		Media:          "message",
		FileState:      "AVAILABLE",
	}
	rec.SelfURI = "/api/v2/conversations/" + c.ID + "/recordings/" + rec.ID
	for i := range c.Messages {
		m := &c.Messages[i]
		p := who[m.ID]
		rm := genesys.RecordingMessagingMessage{
			ID: m.ID, From: m.FromAddress, To: m.ToAddress, Timestamp: m.Timestamp, Status: m.Status,
			Purpose: p.Purpose, ParticipantID: p.ID, MessageText: genesys.MessageText(m),
		}
		sign := func(u, id string) string { return s.SignMediaURL(u, id, expires, signedAt) }
		rm.MessageMediaAttachments, rm.MessageStickerAttachments = c.RecordingAttachments(m, sign)
		rm.NotificationTemplate = RecordingTemplate(m, sign)
		if s.opts.RecordingsOwnIDs {
			ownIDs(&rm)
		}
		rec.MessagingTranscript = append(rec.MessagingTranscript, rm)
	}
	w.json(http.StatusOK, []genesys.Recording{rec})
}

// recordingMediaTypes are the values of model Messagemediaattachment's
// mediaType enum.
var recordingMediaTypes = []string{"image/png", "image/jpeg", "image/gif"}

// RecordingAttachments are the attachments of m, one of c's messages, as
// a recording's transcript gives them, each url (if any) passed through
// sign (nil: kept as it is). Model Recordingmessagingmessage keeps them
// in two lists side by side, messageMediaAttachments (model
// Messagemediaattachment) and messageStickerAttachments (model
// Messagestickerattachment: id and url), and says of neither that a
// message has only one: a message may have both. Which attachments the
// Recordings service counts as stickers is not documented — the
// Conversation API gives a sticker as an attachment like any other,
// nothing marking it — so the simulator puts its WhatsApp stickers
// (Attachment.Sticker: image/webp, a type Messagemediaattachment's
// mediaType cannot name) in the second list and the rest in the first.
// The simulator's recordings and its Recording API bulk exports
// (internal/sim/recexport) both write attachments through it.
func (c *ConvData) RecordingAttachments(m *genesys.MessageData, sign func(url, id string) string) (media []genesys.MessageMediaAttachment, stickers []genesys.MessageStickerAttachment) {
	for _, md := range m.Media {
		u := md.URL
		if u != "" && sign != nil {
			u = sign(u, md.ID)
		}
		if c.isSticker(md.ID) {
			stickers = append(stickers, genesys.MessageStickerAttachment{ID: md.ID, URL: u})
			continue
		}
		media = append(media, RecordingAttachment(md, u))
	}
	return media, stickers
}

// isSticker reports whether attachment id of c is a sticker.
func (c *ConvData) isSticker(id string) bool {
	for i := range c.Attachments {
		if c.Attachments[i].ID == id {
			return c.Attachments[i].Sticker
		}
	}
	return false
}

// RecordingAttachment is the attachment md as a recording's transcript
// gives it (model Messagemediaattachment), at url u. The model's mediaType
// is an enum of three image types ("if null then the media type should be
// dictated by the url"): any other type is left out, as the real API
// must.
func RecordingAttachment(md genesys.MessageMedia, u string) genesys.MessageMediaAttachment {
	a := genesys.MessageMediaAttachment{ID: md.ID, URL: u, ContentLength: md.ContentLengthBytes, Name: md.Name}
	if slices.Contains(recordingMediaTypes, md.MediaType) {
		a.MediaType = md.MediaType
	}
	return a
}

// RecordingTemplate is m's template as a recording's transcript gives it
// (model Recordingnotificationtemplate; nil when m has none), its header
// media's url passed through sign (nil: kept as it is). The simulator's
// recordings sign it for the media listener; its Recording API bulk
// exports (internal/sim/recexport) keep the org's url, as they do for
// attachments.
func RecordingTemplate(m *genesys.MessageData, sign func(url, id string) string) *genesys.RecordingNotificationTemplate {
	n := m.NormalizedMessage
	if n == nil {
		return nil
	}
	for _, c := range n.Content {
		t := c.Template
		if t == nil {
			continue
		}
		rt := &genesys.RecordingNotificationTemplate{ID: t.ID, Language: t.Language}
		if h := t.Header; h != nil {
			rt.Header = &genesys.RecordingTemplateHeader{Type: h.Type, Text: h.Text}
			if a := h.Media; a != nil {
				u := a.URL
				if u != "" && sign != nil {
					u = sign(u, a.ID)
				}
				rt.Header.Media = &genesys.RecordingAttachment{ID: a.ID, URL: u, MediaType: a.MediaType, Mime: a.Mime, FileName: a.Filename}
			}
		}
		if t.Body != nil {
			rt.Body = &genesys.RecordingTemplateText{Text: t.Body.Text}
		}
		if t.Footer != nil {
			rt.Footer = &genesys.RecordingTemplateText{Text: t.Footer.Text}
		}
		return rt
	}
	return nil
}

// ownIDs gives rm, its attachments and its template's header media ids of
// the Recordings service's own (Options.RecordingsOwnIDs), derived from
// the messages API's so that responses stay reproducible.
func ownIDs(rm *genesys.RecordingMessagingMessage) {
	own := func(id string) string {
		if id == "" {
			return ""
		}
		h := sha256.Sum256([]byte("custody-sim-recording-id\x00" + id))
		h[6] = h[6]&0x0f | 0x40 // version 4
		h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
		x := hex.EncodeToString(h[:16])
		return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
	}
	rm.ID = own(rm.ID)
	for i := range rm.MessageMediaAttachments {
		rm.MessageMediaAttachments[i].ID = own(rm.MessageMediaAttachments[i].ID)
	}
	for i := range rm.MessageStickerAttachments {
		rm.MessageStickerAttachments[i].ID = own(rm.MessageStickerAttachments[i].ID)
	}
	if t := rm.NotificationTemplate; t != nil && t.Header != nil && t.Header.Media != nil {
		t.Header.Media.ID = own(t.Header.Media.ID)
	}
}
