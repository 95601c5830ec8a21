package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// ConvData is everything the org knows about one conversation, in the wire
// shapes the API serves. Messages are complete (not normalized-only) and in
// timestamp order (APIMessage gives the shape the API serves). Callers must
// not modify a ConvData they did not build.
type ConvData struct {
	Index                  int
	ID                     string
	Kind                   string // KindWhatsApp, KindSMS, KindWebMessaging, KindVoice
	MediaType, MessageType string // analytics mediaType/messageType ("message"/"whatsapp")
	Start, End             time.Time
	Analytics              genesys.AnalyticsConversation
	Conversation           genesys.Conversation
	MessageConversation    genesys.MessageConversation // zero for voice
	Messages               []genesys.MessageData       // full, non-normalized, timestamp order
	LegalHold              bool                        // currently protected
	Audits                 []genesys.AuditLogMessage   // entries about its protection, oldest first
	Attachments            []Attachment                // media of Messages, in message order
	// SensitiveData: a message's text holds a payment card number
	// (genesys.HasPaymentCard), so Genesys counts its recording as one
	// with sensitive data, which bulk exports leave out unless asked.
	SensitiveData bool
}

// Attachment is a media file sent in a message; the sim serves its bytes
// at URL (GET /sim/media/{id}).
type Attachment struct {
	ID        string
	MessageID string
	MediaType string // Image, Video, Audio, File
	Mime      string
	Filename  string
	Size      int
	Sha256    string // lowercase hex of the bytes
	URL       string
	// TemplateHeader: the media of a template's header
	// (template.header.media), not a content attachment.
	TemplateHeader bool
	// Sticker: a WhatsApp sticker, a content attachment the Conversation
	// API gives like any other; a recording's transcript keeps it apart
	// (ConvData.RecordingAttachments).
	Sticker bool
}

// Message returns the message with the given id.
func (c *ConvData) Message(id string) (*genesys.MessageData, bool) {
	for k := range c.Messages {
		if c.Messages[k].ID == id {
			return &c.Messages[k], true
		}
	}
	return nil, false
}

// Conversation generates conversation id. It is pure apart from the legal
// hold and audits, which reflect run-time changes.
func (o *Org) Conversation(id string) (*ConvData, bool) {
	i, ok := o.Index(id)
	if !ok {
		return nil, false
	}
	return o.ConversationAt(i), true
}

// ConversationAt generates conversation i (0 ≤ i < Len()).
func (o *Org) ConversationAt(i int) *ConvData {
	c := o.generate(i, true)
	c.LegalHold = o.LegalHold(i)
	c.Audits = o.Audits(i)
	return c
}

// AnalyticsAt returns only the analytics view of conversation i, without
// generating its messages' content (cheaper for listings).
func (o *Org) AnalyticsAt(i int) genesys.AnalyticsConversation {
	return o.generate(i, false).Analytics
}

// party is a participant being generated.
type party struct {
	id, purpose, name string
	user              *genesys.DomainEntityRef
	queue             *genesys.DomainEntityRef
	from, to          time.Time
	msgs              []genesys.MessageDetails
}

// generate builds conversation i. The skeleton (participants, analytics)
// comes from one random stream and the messages from another, so listing
// conversations never pays for message text.
func (o *Org) generate(i int, withMessages bool) *ConvData {
	seed := o.cfg.Seed
	start, end := o.Span(i)
	kind := o.Kind(i)
	mediaType, messageType := o.MediaType(i)
	id := o.ConversationID(i)
	c := &ConvData{Index: i, ID: id, Kind: kind, MediaType: mediaType, MessageType: messageType, Start: start, End: end}
	ch := o.channels[o.headers[i].kind]

	r := newRand(seed, tagSkeleton, uint64(i))
	dur := end.Sub(start)
	frac := func(f float64) time.Time {
		return start.Add(time.Duration(f * float64(dur))).Truncate(time.Millisecond)
	}
	outbound := r.Float64() < 0.1
	hasBot := kind != KindVoice && !outbound && r.Float64() < 0.4
	twoAgents := kind != KindVoice && r.Float64() < 0.1
	q := o.queues[r.IntN(len(o.queues))]
	a1 := o.users[r.IntN(len(o.users))]
	a2 := o.users[r.IntN(len(o.users))]
	flow := o.flows[r.IntN(len(o.flows))]
	custFirst, custLast := pick(r, firstNames), pick(r, lastNames)
	custName := custFirst + " " + custLast
	custAddr := phoneNumber(r)
	if kind == KindWebMessaging {
		custAddr = uuidOf(seed, tagSkeleton, uint64(i), 99)
	}
	extContact := uuidOf(seed, tagSkeleton, uint64(i), 98)
	caseNo := 100000 + r.IntN(900000)
	locale := pick(r, []string{"en-GB", "en-US", "de-DE", "es-ES", "nl-NL"})
	botEnd, acdEnd := start, start
	if hasBot {
		botEnd = frac(0.05 + 0.15*r.Float64())
	}
	if !outbound {
		acdEnd = botEnd.Add(time.Duration(float64(dur) * 0.02 * r.Float64())).Truncate(time.Millisecond)
	}
	transfer := end
	if twoAgents {
		transfer = acdEnd.Add(time.Duration(float64(end.Sub(acdEnd)) * (0.3 + 0.4*r.Float64()))).Truncate(time.Millisecond)
	}
	pid := func(k uint64) string { return uuidOf(seed, tagSkeleton, uint64(i), k) }
	cust := &party{id: pid(1), purpose: "customer", name: custName, from: start, to: end}
	parties := []*party{cust}
	var bot *party
	if hasBot {
		bot = &party{id: pid(2), purpose: "workflow", name: flow.Name, from: start, to: botEnd}
		parties = append(parties, bot)
	}
	if !outbound {
		parties = append(parties, &party{id: pid(3), purpose: "acd", name: q.Name, queue: &q, from: botEnd, to: acdEnd})
	}
	agents := []*party{{id: pid(4), purpose: "agent", name: a1.Name, user: &a1, queue: &q, from: acdEnd, to: transfer}}
	if twoAgents {
		agents = append(agents, &party{id: pid(5), purpose: "agent", name: a2.Name, user: &a2, queue: &q, from: transfer, to: end})
	}
	parties = append(parties, agents...)
	attrs := map[string]string{
		"crmCaseId":       "CASE-" + strconv.Itoa(caseNo),
		"customerLocale":  locale,
		"context.name":    custName,
		"routing.channel": kind,
	}
	if kind == KindWhatsApp {
		attrs["whatsapp.optIn"] = "true"
	}

	if withMessages && kind != KindVoice {
		o.generateMessages(c, ch, cust, bot, agents, acdEnd, custFirst, custAddr)
	}

	// Analytics view.
	origDir := "inbound"
	if outbound {
		origDir = "outbound"
	}
	c.Analytics = genesys.AnalyticsConversation{
		ConversationID:       id,
		ConversationStart:    ts(start),
		ConversationEnd:      ts(end),
		OriginatingDirection: origDir,
		DivisionIDs:          []string{o.divisionID},
	}
	for k, p := range parties {
		s := genesys.AnalyticsSession{
			SessionID:   uuidOf(seed, tagSkeleton, uint64(i), 200+uint64(k)),
			MediaType:   mediaType,
			MessageType: messageType,
			Direction:   origDir,
			AddressFrom: custAddr,
			AddressTo:   ch.address,
			Segments:    []genesys.AnalyticsSegment{{SegmentStart: ts(p.from), SegmentEnd: ts(p.to), SegmentType: "interact"}},
		}
		if outbound {
			s.AddressFrom, s.AddressTo = ch.address, custAddr
		}
		if kind == KindVoice {
			s.AddressFrom, s.AddressTo = "tel:"+s.AddressFrom, "tel:"+s.AddressTo
		}
		if p.queue != nil {
			s.Segments[0].QueueID = p.queue.ID
		}
		if p.purpose == "agent" {
			s.Metrics = []genesys.AnalyticsMetric{{Name: "nConnected", Value: 1, EmitDate: ts(p.from)}}
		}
		s.Recording = p.purpose == "customer" && (kind == KindVoice || o.headers[i].hold)
		ap := genesys.AnalyticsParticipant{ParticipantID: p.id, ParticipantName: p.name, Purpose: p.purpose, Sessions: []genesys.AnalyticsSession{s}}
		if p.user != nil {
			ap.UserID = p.user.ID
		}
		c.Analytics.Participants = append(c.Analytics.Participants, ap)
	}

	// GET /api/v2/conversations/{id}.
	c.Conversation = genesys.Conversation{
		ID:        id,
		StartTime: ts(start),
		EndTime:   ts(end),
		Divisions: []genesys.DivisionMembership{{Division: &genesys.DomainEntityRef{ID: o.divisionID, Name: "Home", SelfURI: "/api/v2/authorization/divisions/" + o.divisionID}}},
		SelfURI:   "/api/v2/conversations/" + id,
	}
	for _, p := range parties {
		cp := genesys.Participant{ID: p.id, StartTime: ts(p.from), EndTime: ts(p.to), Name: p.name, Purpose: p.purpose}
		if p.purpose != "acd" {
			cp.ConnectedTime = ts(p.from)
		}
		switch p.purpose {
		case "customer":
			cp.Address = custAddr
			cp.ExternalContactID = extContact
			cp.Attributes = attrs
		case "agent":
			cp.UserID = p.user.ID
			cp.QueueID, cp.QueueName = p.queue.ID, p.queue.Name
		case "acd":
			cp.QueueID, cp.QueueName = p.queue.ID, p.queue.Name
		}
		c.Conversation.Participants = append(c.Conversation.Participants, cp)
	}
	if kind == KindVoice {
		return c
	}

	// GET /api/v2/conversations/messages/{id}.
	c.MessageConversation = genesys.MessageConversation{ID: id, SelfURI: "/api/v2/conversations/messages/" + id}
	for _, p := range parties {
		mp := genesys.MessageMediaParticipant{
			ID: p.id, Name: p.name, StartTime: ts(p.from), EndTime: ts(p.to), Purpose: p.purpose,
			State: "disconnected", Direction: origDir, DisconnectType: "client",
			Provider: "PureCloud Messaging", Type: kind, Messages: p.msgs,
		}
		if p.purpose != "acd" {
			mp.ConnectedTime = ts(p.from)
		}
		switch p.purpose {
		case "customer":
			mp.Address = custAddr
			mp.Attributes = attrs
			mp.ExternalContact = &genesys.DomainEntityRef{ID: extContact, SelfURI: "/api/v2/externalcontacts/contacts/" + extContact}
			mp.FromAddress = &genesys.Address{Name: custName, AddressNormalized: custAddr, AddressRaw: custAddr}
			mp.ToAddress = &genesys.Address{Name: ch.name, AddressNormalized: ch.address}
			mp.DisconnectType = "endpoint"
		case "agent":
			mp.User = p.user
			mp.Queue = p.queue
			mp.Address = ch.address
		case "acd":
			mp.Queue = p.queue
			mp.Address = ch.address
		case "workflow":
			mp.Address = ch.address
		}
		c.MessageConversation.Participants = append(c.MessageConversation.Participants, mp)
	}
	return c
}

// messageCount draws a long-tailed count: log-normal, median ≈ 7, mean ≈ 12,
// between 1 and 400.
func messageCount(r *rand.Rand) int {
	n := int(math.Round(math.Exp(1.985 + 1.0*r.NormFloat64())))
	return min(max(n, 1), 400)
}

func (o *Org) generateMessages(c *ConvData, ch channel, cust, bot *party, agents []*party, acdEnd time.Time, custFirst, custAddr string) {
	seed := o.cfg.Seed
	i := c.Index
	r := newRand(seed, tagMessages, uint64(i))
	n := messageCount(r)
	dur := c.End.Sub(c.Start)
	offs := make([]time.Duration, n)
	for k := 1; k < n; k++ {
		offs[k] = time.Duration(r.Float64() * float64(dur-time.Second))
	}
	sort.Slice(offs, func(a, b int) bool { return offs[a] < offs[b] })
	platform := map[string]string{KindWhatsApp: "Whatsapp", KindSMS: "Sms", KindWebMessaging: "WebMessaging"}[c.Kind]
	idType := "Phone"
	if c.Kind == KindWebMessaging {
		idType = "Opaque"
	}
	outboundOrig := c.Kind != KindVoice && acdEnd.Equal(c.Start) && bot == nil
	c.Messages = make([]genesys.MessageData, 0, n)
	st := &contentState{r: newRand(seed, tagContent, uint64(i))}
	// Which agent messages are templates with header media, and their media.
	hr := newRand(seed, tagHeaderMedia, uint64(i))
	cardDue := st.r.Float64() < sensitiveShare // a customer types a card number
	for k := range n {
		t := c.Start.Add(offs[k]).Truncate(time.Millisecond)
		if k > 0 && !t.After(c.Start) {
			t = c.Start.Add(time.Millisecond)
		}
		inbound := r.Float64() < 0.5
		if k == 0 {
			inbound = !outboundOrig
		}
		var sender *party
		switch {
		case inbound:
			sender = cust
		case bot != nil && t.Before(bot.to):
			sender = bot
		case t.Before(acdEnd):
			inbound, sender = true, cust // nobody to answer yet
		default:
			sender = agents[0]
			if len(agents) > 1 && !t.Before(agents[1].from) {
				sender = agents[1]
			}
		}
		msgID := hexID(seed, tagMessages, uint64(i), uint64(k))
		var text string
		switch {
		case inbound:
			text = fill(r, pick(r, inboundTexts), custFirst)
		case sender == bot:
			text = pick(r, botTexts)
		default:
			text = fill(r, pick(r, agentTexts), strings.Fields(sender.name)[0])
		}
		m := genesys.MessageData{
			ID:             msgID,
			Timestamp:      ts(t),
			MessengerType:  c.Kind,
			TextBody:       text,
			ConversationID: c.ID,
			SelfURI:        "/api/v2/conversations/messages/" + c.ID + "/messages/" + msgID,
		}
		provID := providerMessageID(c.Kind, hash(seed, tagMessages, uint64(i), uint64(k), 1))
		m.ProviderMessageID = provID
		nm := &genesys.NormalizedMessage{
			ID:   msgID,
			Type: "Text",
			Channel: &genesys.MessagingChannel{
				ID: ch.id, Platform: platform, Type: "Private", MessageID: provID, Time: ts(t),
			},
		}
		custRcpt := &genesys.Recipient{ID: custAddr, IDType: idType, Nickname: cust.name, FirstName: custFirst}
		orgRcpt := &genesys.Recipient{ID: ch.address, IDType: idType}
		if inbound {
			m.Direction, nm.Direction = "inbound", "Inbound"
			m.FromAddress, m.ToAddress = custAddr, ch.address
			nm.Channel.From, nm.Channel.To = custRcpt, orgRcpt
			m.Status = "received"
		} else {
			m.Direction, nm.Direction = "outbound", "Outbound"
			m.FromAddress, m.ToAddress = ch.address, custAddr
			nm.Channel.From, nm.Channel.To = orgRcpt, custRcpt
			m.Status, nm.Status = "sent", "Sent"
			if sender == bot {
				nm.OriginatingEntity = "Bot"
			} else {
				nm.OriginatingEntity = "Human"
				m.CreatedBy = &genesys.UserRef{ID: sender.user.ID, Name: sender.user.Name, SelfURI: sender.user.SelfURI}
			}
		}
		// Attachments: photos, documents, voice notes.
		if r.Float64() < 0.08 {
			a := o.attachment(r, i, k)
			a.MessageID = msgID
			cap := captions[r.IntN(len(captions))]
			nm.Content = []genesys.MessageContent{{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{
				ID: a.ID, MediaType: a.MediaType, URL: a.URL, Mime: a.Mime, Sha256: a.Sha256, Filename: a.Filename, ContentSizeBytes: a.Size,
			}}}
			m.Media = []genesys.MessageMedia{{ID: a.ID, Name: a.Filename, URL: a.URL, MediaType: a.Mime, ContentLengthBytes: a.Size}}
			text = cap
			m.TextBody = cap
			c.Attachments = append(c.Attachments, a)
		} else if c.Kind == KindWhatsApp {
			text = o.structure(st, c, &m, nm, k, text, k == 0 && outboundOrig, sender == bot, !inbound && sender != bot, custFirst)
			m.TextBody = text
		}
		if cardDue && inbound && k > 0 && len(nm.Content) == 0 {
			cardDue = false
			text = fill(st.r, pick(st.r, cardTexts), custFirst)
			m.TextBody = text
		}
		nm.Text = text
		// Receipts for outbound WhatsApp and web messages; an event has none.
		switch {
		case nm.Type == "Event":
		case !inbound && c.Kind == KindWhatsApp && failDelivery(st, &m, nm, t.Add(time.Duration(300+st.r.IntN(60_000))*time.Millisecond)):
		case !inbound && c.Kind != KindSMS:
			dt := t.Add(time.Duration(300+r.IntN(4700)) * time.Millisecond)
			nm.Status, m.Status = "Delivered", "delivery-success"
			rc := []genesys.NormalizedMessage{receipt(msgID, nm.Channel, dt, "Delivered")}
			if r.Float64() < 0.75 {
				rt := dt.Add(time.Duration(5000+r.IntN(1800_000)) * time.Millisecond)
				rc = append(rc, receipt(msgID, nm.Channel, rt, "Read"))
				nm.Status, m.Status = "Read", "read"
			}
			rc[len(rc)-1].IsFinalReceipt = true
			m.NormalizedReceipts = rc
		}
		// A few messages were edited or deleted by their sender.
		switch e := r.Float64(); {
		case e < 0.005 && inbound:
			nm.Channel.DateDeleted = ts(t.Add(time.Duration(2000+r.IntN(600_000)) * time.Millisecond))
			m.TextBody, nm.Text, nm.Content, m.Media = "", "", nil, nil
			m.Status, nm.Status = "removed", "Removed"
			if len(c.Attachments) > 0 && c.Attachments[len(c.Attachments)-1].MessageID == msgID {
				c.Attachments = c.Attachments[:len(c.Attachments)-1]
			}
		case e < 0.015 && m.TextBody != "":
			nm.Channel.DateModified = ts(t.Add(time.Duration(2000+r.IntN(600_000)) * time.Millisecond))
			m.TextBody += " (edit: sorry, typo)"
			nm.Text = m.TextBody
		}
		// Some agent messages are templates with a media header (an
		// image, video or document), decided by a stream of their own,
		// drawn once for each agent message whatever it became: the
		// other messages stay what they were. Not one that is an event,
		// carries media already or was edited (its text is the edit).
		if c.Kind == KindWhatsApp && !inbound && sender != bot && hr.Float64() < mediaTemplateShare &&
			nm.Type != "Event" && len(nm.Content) == 0 && nm.Channel.DateModified == "" {
			o.mediaTemplate(hr, c, msgID, nm, i, k, custFirst)
			m.TextBody, nm.Text = "", ""
		}
		m.NormalizedMessage = nm
		c.Messages = append(c.Messages, m)
		sender.msgs = append(sender.msgs, genesys.MessageDetails{
			MessageID: msgID, MessageURI: m.SelfURI, MessageStatus: m.Status, MessageSegmentCount: 1, MessageTime: m.Timestamp,
		})
	}
	for k := range c.Messages {
		if genesys.HasPaymentCard(genesys.MessageText(&c.Messages[k])) {
			c.SensitiveData = true
			break
		}
	}
}

func receipt(msgID string, ch *genesys.MessagingChannel, at time.Time, status string) genesys.NormalizedMessage {
	c := *ch
	c.Time = ts(at)
	c.From, c.To = ch.To, ch.From
	return genesys.NormalizedMessage{ID: msgID, Channel: &c, Type: "Receipt", Status: status, Direction: "Outbound"}
}

func providerMessageID(kind string, h uint64) string {
	var b [16]byte
	for j := 0; j < 8; j++ {
		b[j] = byte(h >> (8 * j))
		b[8+j] = byte(mix(h) >> (8 * j))
	}
	switch kind {
	case KindWhatsApp:
		return "wamid.HBgM" + base64.RawStdEncoding.EncodeToString(b[:]) + "AA=="
	case KindSMS:
		return "SM" + hex.EncodeToString(b[:])
	default:
		return uuidFrom(h, mix(h))
	}
}

// fill replaces %d, %02d and %s in a template with generated values.
func fill(r *rand.Rand, tmpl, name string) string {
	var sb strings.Builder
	for j := 0; j < len(tmpl); j++ {
		if tmpl[j] != '%' || j+1 >= len(tmpl) {
			sb.WriteByte(tmpl[j])
			continue
		}
		switch {
		case strings.HasPrefix(tmpl[j:], "%02d"):
			fmt.Fprintf(&sb, "%02d", r.IntN(100))
			j += 3
		case tmpl[j+1] == 'd':
			sb.WriteString(strconv.Itoa(10000 + r.IntN(90000)))
			j++
		case tmpl[j+1] == 's':
			sb.WriteString(name)
			j++
		default:
			sb.WriteByte('%')
		}
	}
	return sb.String()
}

var mediaKinds = []struct{ mediaType, mime, ext string }{
	{"Image", "image/jpeg", "jpg"},
	{"Image", "image/png", "png"},
	{"File", "application/pdf", "pdf"},
	{"Audio", "audio/ogg", "ogg"},
	{"Video", "video/mp4", "mp4"},
}

// attachment generates the media of message k of conversation i.
func (o *Org) attachment(r *rand.Rand, i, k int) Attachment {
	mk := mediaKinds[r.IntN(len(mediaKinds))]
	size := int(math.Exp(math.Log(512) + r.Float64()*math.Log(64))) // 512 B – 32 KiB, log-uniform
	id := indexedUUID(hash(o.cfg.Seed, tagMedia, uint64(i), uint64(k)), o.idKey^0x5a5a5a5a5a5a, i)
	a := Attachment{
		ID:        id,
		MediaType: mk.mediaType,
		Mime:      mk.mime,
		Filename:  fmt.Sprintf("%s-%d.%s", strings.ToLower(mk.mediaType), k, mk.ext),
		Size:      size,
		URL:       strings.TrimSuffix(o.cfg.MediaBaseURL, "/") + "/sim/media/" + id,
	}
	a.Sha256 = mediaSha256(o.cfg.Seed, id, mk.mime, size)
	return a
}

var mediaMagic = map[string]string{
	"image/jpeg": "\xff\xd8\xff\xe0", "image/png": "\x89PNG\r\n\x1a\n", "application/pdf": "%PDF-1.7\n",
	"audio/ogg": "OggS", "video/mp4": "\x00\x00\x00\x18ftypmp42", "image/webp": "RIFF\x00\x40\x00\x00WEBPVP8 ",
}

func mediaStream(seed int64, id string) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256([]byte(strconv.FormatInt(seed, 10) + "/" + id)))
}

// mediaBytes are the deterministic bytes of an attachment: a format magic
// number, then seeded noise.
func mediaBytes(seed int64, id, mime string, size int) []byte {
	b := make([]byte, size)
	_, _ = mediaStream(seed, id).Read(b)
	copy(b, mediaMagic[mime])
	return b
}

// mediaSha256 is the hex SHA-256 of mediaBytes, computed in chunks
// without holding the whole file.
func mediaSha256(seed int64, id, mime string, size int) string {
	r := mediaStream(seed, id)
	h := sha256.New()
	var buf [4096]byte
	for done := 0; done < size; {
		n := min(len(buf), size-done)
		_, _ = r.Read(buf[:n])
		if done == 0 {
			copy(buf[:n], mediaMagic[mime])
		}
		h.Write(buf[:n])
		done += n
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Media returns the bytes and mime type of attachment id.
func (o *Org) Media(id string) ([]byte, string, bool) {
	i, ok := indexFromUUID(id, o.idKey^0x5a5a5a5a5a5a)
	if !ok || i < 0 || i >= o.Len() || o.Kind(i) == KindVoice {
		return nil, "", false
	}
	for _, a := range o.cached(i).Attachments {
		if a.ID == id {
			return mediaBytes(o.cfg.Seed, id, a.Mime, a.Size), a.Mime, true
		}
	}
	return nil, "", false
}
