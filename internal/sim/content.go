package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Structured WhatsApp content: templates, quick replies, reply lists and
// the answers to them, locations, stickers, reactions, typing events and
// failed deliveries. Every choice is drawn from a stream of its own
// (tagContent), so the text, attachments, receipts and edits of the other
// messages stay what the message stream makes them.

// sensitiveShare is the share of messaging conversations in which the
// customer types a payment card number.
const sensitiveShare = 0.04

// offer is an outbound message whose options the customer may answer.
type offer struct {
	msgID   string
	kind    string // ButtonResponse type: QuickReply, ListPicker, Button
	options [][2]string
}

// contentState carries what one conversation's content generation
// remembers from message to message.
type contentState struct {
	r     *rand.Rand
	offer *offer
}

var (
	quickReplies = [][2]string{
		{"Order status", "ORDER_STATUS"}, {"Billing", "BILLING"}, {"Talk to an agent", "AGENT"},
	}
	listSections = []struct {
		title string
		items [][3]string // id, title, subtitle
	}{
		{"Orders", [][3]string{{"track", "Track my parcel", "Where is my order?"}, {"return", "Return an item", "Within 30 days"}}},
		{"Account", [][3]string{{"invoice", "Invoices", "Copies and corrections"}, {"close", "Close my account", ""}}},
	}
	templates = []struct {
		id, header, body, footer string
		buttons                  [][2]string // type, text
	}{
		{"order_update_v3", "Your order", "Hi {{1}}, your order {{2}} has shipped and will arrive on {{3}}.", "Reply STOP to opt out",
			[][2]string{{"QuickReply", "Talk to us"}, {"Url", "Track parcel"}}},
		{"appointment_reminder", "Reminder", "Hello {{1}}, this is a reminder of your call back on {{2}}. Reference {{3}}.", "Custody Demo Ltd",
			[][2]string{{"QuickReply", "Confirm"}, {"QuickReply", "Reschedule"}}},
		{"payment_due_es", "Aviso de pago", "Hola {{1}}, el recibo {{2}} vence el {{3}}.", "",
			[][2]string{{"PhoneNumber", "Llamar"}}},
	}
	places = []struct {
		lat, lon   float64
		name, addr string
	}{
		{51.501476, -0.140634, "Depot entrance", "Buckingham Palace Rd, London SW1A 1AA"},
		{52.520008, 13.404954, "", "Alexanderplatz, 10178 Berlin"},
		{-33.856784, 151.215297, "Sydney Opera House", "Bennelong Point, Sydney NSW 2000"},
		{40.748817, -73.985428, "", "350 5th Ave, New York, NY 10118"},
		{52.379189, 4.899431, "Centraal", "Stationsplein, 1012 AB Amsterdam"},
	}
	// cardTexts carry test card numbers (they pass the Luhn check and
	// belong to no one).
	cardTexts = []string{
		"Here is my card: 4111 1111 1111 1111, exp 09/27",
		"card number 5500-0000-0000-0004 please take the payment",
		"Can you charge 4012888888881881 instead?",
	}
	reactionTypes  = []string{"Like", "Love", "Haha", "Wow", "Sad", "Thankful"}
	failureReasons = [][2]string{
		{"RecipientOptedOut", "The recipient has opted out of messages from this business."},
		{"MessageExpired", "The message was not delivered within the provider's time to live."},
		{"InvalidDestination", "The recipient's number is not on WhatsApp."},
	}
)

// structure gives message k of a WhatsApp conversation structured content
// where one fits, and returns its text (possibly changed). first is the
// first message of an agent-initiated conversation (a template, as
// WhatsApp requires outside the 24-hour window); byBot, byAgent say who
// sent an outbound message.
func (o *Org) structure(st *contentState, c *ConvData, m *genesys.MessageData, nm *genesys.NormalizedMessage, k int, text string, first, byBot, byAgent bool, custFirst string) string {
	r := st.r
	u := r.Float64()
	structured := func(content ...genesys.MessageContent) {
		nm.Type = "Structured"
		nm.Content = append(nm.Content, content...)
	}
	switch {
	case first:
		tm := templates[r.IntN(len(templates))]
		params := []genesys.TemplateParameter{
			{Name: "1", Text: custFirst},
			{Name: "2", Text: fmt.Sprintf("%d", 100000+r.IntN(900000))},
			{Name: "3", Text: c.Start.AddDate(0, 0, 1+r.IntN(6)).Format("2 Jan 2006")},
		}
		t := &genesys.NotificationTemplate{ID: tm.id, Language: "en_GB",
			Header: &genesys.TemplateHeader{Type: "Text", Text: tm.header},
			Body:   &genesys.TemplateBody{Text: tm.body, Parameters: params}}
		if strings.HasSuffix(tm.id, "_es") {
			t.Language = "es"
		}
		if tm.footer != "" {
			t.Footer = &genesys.TemplateFooter{Text: tm.footer}
		}
		of := &offer{msgID: m.ID, kind: "Button"}
		for j, b := range tm.buttons {
			tb := genesys.TemplateButton{Type: b[0], Text: b[1], Index: j}
			switch b[0] {
			case "Url":
				tb.URL = "https://example.com/track/" + params[1].Text
			case "PhoneNumber":
				tb.PhoneNumber = "+34910000000"
			default:
				tb.Payload = strings.ToUpper(strings.ReplaceAll(b[1], " ", "_"))
				of.options = append(of.options, [2]string{b[1], tb.Payload})
			}
			t.Buttons = append(t.Buttons, tb)
		}
		structured(genesys.MessageContent{ContentType: "Notification", Template: t})
		if len(of.options) > 0 {
			st.offer = of
		}
		return ""
	case byBot && u < 0.3:
		of := &offer{msgID: m.ID, kind: "QuickReply", options: quickReplies}
		for _, q := range quickReplies {
			structured(genesys.MessageContent{ContentType: "QuickReply", QuickReply: &genesys.ContentQuickReply{Text: q[0], Payload: q[1], Action: "Message"}})
		}
		st.offer = of
		return "What can I help you with? Tap an option."
	case byBot && u < 0.45:
		lp := &genesys.ContentListPicker{ID: fmt.Sprintf("menu-%d", k),
			ReplyMessage: &genesys.ReceivedReplyMessage{Title: "How can we help?", ButtonLabel: "Choose"}}
		of := &offer{msgID: m.ID, kind: "ListPicker"}
		for _, sec := range listSections {
			s := genesys.ListPickerSection{Title: sec.title}
			for _, it := range sec.items {
				s.Items = append(s.Items, genesys.ListPickerItem{ID: it[0], Title: it[1], Subtitle: it[2]})
				of.options = append(of.options, [2]string{it[1], it[0]})
			}
			lp.Sections = append(lp.Sections, s)
		}
		structured(genesys.MessageContent{ContentType: "ListPicker", ListPicker: lp})
		st.offer = of
		return "Choose a topic from the list."
	case byAgent && u < 0.01:
		nm.Type = "Event"
		nm.Events = []genesys.MessageEvent{{EventType: "Typing", Typing: &genesys.TypingEvent{Type: "On", Duration: 5000}}}
		return ""
	case !byBot && !byAgent && st.offer != nil && u < 0.7:
		of := st.offer
		st.offer = nil
		opt := of.options[r.IntN(len(of.options))]
		structured(genesys.MessageContent{ContentType: "ButtonResponse", ButtonResponse: &genesys.ContentButtonResponse{
			Type: of.kind, Text: opt[0], Payload: opt[1], OriginatingMessageID: of.msgID}})
		return opt[0]
	case !byBot && !byAgent && u < 0.02:
		p := places[r.IntN(len(places))]
		// A few metres of jitter, rounded as phones send it.
		lat := math.Round((p.lat+(r.Float64()-0.5)*1e-3)*1e6) / 1e6
		lon := math.Round((p.lon+(r.Float64()-0.5)*1e-3)*1e6) / 1e6
		structured(genesys.MessageContent{ContentType: "Location", Location: &genesys.ContentLocation{
			Latitude: lat, Longitude: lon, Text: p.name, Address: p.addr,
			URL: fmt.Sprintf("https://maps.google.com/maps?q=%g,%g", lat, lon)}})
		return ""
	case !byBot && !byAgent && u < 0.04:
		a := o.sticker(r, c.Index, k)
		a.MessageID = m.ID
		structured(genesys.MessageContent{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{
			ID: a.ID, MediaType: a.MediaType, URL: a.URL, Mime: a.Mime, Sha256: a.Sha256, Filename: a.Filename, ContentSizeBytes: a.Size,
		}})
		m.Media = []genesys.MessageMedia{{ID: a.ID, Name: a.Filename, URL: a.URL, MediaType: a.Mime, ContentLengthBytes: a.Size}}
		c.Attachments = append(c.Attachments, a)
		return ""
	case !byBot && !byAgent && u < 0.06:
		structured(genesys.MessageContent{ContentType: "Reactions", Reactions: []genesys.ContentReaction{
			{ReactionType: reactionTypes[r.IntN(len(reactionTypes))], Count: 1}}})
		return ""
	}
	return text
}

// mediaTemplateShare is the share of agent messages in WhatsApp
// conversations that are templates with a media header.
const mediaTemplateShare = 0.05

// mediaTemplates are templates whose header is media: WhatsApp's image,
// video and document headers.
var mediaTemplates = []struct {
	id, body, footer string
	mediaType, mime  string
	file             string // file name prefix
	button           [2]string
}{
	{"invoice_ready_v2", "Hi {{1}}, your invoice {{2}} is attached. It is due on {{3}}.", "Custody Demo Ltd", "File", "application/pdf", "invoice", [2]string{"Url", "View invoice"}},
	{"delivery_photo", "Hi {{1}}, parcel {{2}} was delivered on {{3}}: the photo is above.", "Reply STOP to opt out", "Image", "image/jpeg", "delivery", [2]string{"QuickReply", "Not mine"}},
	{"product_video", "Hello {{1}}, here is how to set up order {{2}}, arriving {{3}}.", "", "Video", "video/mp4", "setup", [2]string{}},
}

// mediaTemplate makes nm, message k of conversation i (c), a template
// whose header is media (template.header.media), its choices drawn from r;
// the media is one of c.Attachments, served like any (TemplateHeader).
// It sets no offer: the customer's later messages stay what they were.
func (o *Org) mediaTemplate(r *rand.Rand, c *ConvData, msgID string, nm *genesys.NormalizedMessage, i, k int, custFirst string) {
	tm := mediaTemplates[r.IntN(len(mediaTemplates))]
	ref := fmt.Sprintf("%d", 100000+r.IntN(900000))
	id := indexedUUID(hash(o.cfg.Seed, tagMedia, uint64(i), uint64(k)), o.idKey^0x5a5a5a5a5a5a, i)
	ext := tm.mime[strings.LastIndexByte(tm.mime, '/')+1:]
	a := Attachment{
		ID: id, MessageID: msgID, MediaType: tm.mediaType, Mime: tm.mime,
		Filename:       fmt.Sprintf("%s-%s.%s", tm.file, ref, ext),
		Size:           int(math.Exp(math.Log(1024) + r.Float64()*math.Log(32))), // 1 – 32 KiB, log-uniform
		URL:            strings.TrimSuffix(o.cfg.MediaBaseURL, "/") + "/sim/media/" + id,
		TemplateHeader: true,
	}
	a.Sha256 = mediaSha256(o.cfg.Seed, id, a.Mime, a.Size)
	t := &genesys.NotificationTemplate{ID: tm.id, Language: "en_GB",
		Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{
			ID: a.ID, MediaType: a.MediaType, URL: a.URL, Mime: a.Mime, Sha256: a.Sha256, Filename: a.Filename, ContentSizeBytes: a.Size,
		}},
		Body: &genesys.TemplateBody{Text: tm.body, Parameters: []genesys.TemplateParameter{
			{Name: "1", Text: custFirst},
			{Name: "2", Text: ref},
			{Name: "3", Text: c.Start.AddDate(0, 0, 1+r.IntN(6)).Format("2 Jan 2006")},
		}}}
	if tm.footer != "" {
		t.Footer = &genesys.TemplateFooter{Text: tm.footer}
	}
	switch tm.button[0] {
	case "Url":
		t.Buttons = []genesys.TemplateButton{{Type: "Url", Text: tm.button[1], URL: "https://example.com/invoice/" + ref}}
	case "QuickReply":
		t.Buttons = []genesys.TemplateButton{{Type: "QuickReply", Text: tm.button[1], Payload: strings.ToUpper(strings.ReplaceAll(tm.button[1], " ", "_"))}}
	}
	nm.Type = "Structured"
	nm.Content = []genesys.MessageContent{{ContentType: "Notification", Template: t}}
	c.Attachments = append(c.Attachments, a)
}

// sticker is a WhatsApp sticker: an image/webp attachment (Genesys serves
// stickers as attachments since it dropped Messagedata.stickers).
func (o *Org) sticker(r *rand.Rand, i, k int) Attachment {
	id := indexedUUID(hash(o.cfg.Seed, tagMedia, uint64(i), uint64(k)), o.idKey^0x5a5a5a5a5a5a, i)
	a := Attachment{
		ID: id, MediaType: "Image", Mime: "image/webp", Sticker: true,
		Filename: fmt.Sprintf("sticker-%d.webp", k),
		Size:     2048 + r.IntN(14*1024),
		URL:      strings.TrimSuffix(o.cfg.MediaBaseURL, "/") + "/sim/media/" + id,
	}
	a.Sha256 = mediaSha256(o.cfg.Seed, id, a.Mime, a.Size)
	return a
}

// failDelivery turns an outbound WhatsApp message's receipts into a
// failure with its reason, on a small share of messages.
func failDelivery(st *contentState, m *genesys.MessageData, nm *genesys.NormalizedMessage, at time.Time) bool {
	if st.r.Float64() >= 0.01 {
		return false
	}
	reason := failureReasons[st.r.IntN(len(failureReasons))]
	rc := receipt(m.ID, nm.Channel, at, "Failed")
	rc.IsFinalReceipt = true
	rc.Reasons = []genesys.Reason{{Code: reason[0], Message: reason[1]}}
	m.NormalizedReceipts = []genesys.NormalizedMessage{rc}
	nm.Status, m.Status = "Failed", "delivery-failed"
	return true
}
