package recexport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

const (
	layoutMillis  = "2006-01-02T15:04:05.000Z07:00"
	layoutSeconds = "2006-01-02T15:04:05Z07:00"
)

// offsetZone is the zone of ZoneOffsets conversations: India's +05:30, a
// half-hour offset that catches readers comparing wall-clock text.
var offsetZone = time.FixedZone("+05:30", 5*3600+1800)

type convResult struct {
	skipped  bool // nothing to export by the job's terms
	failed   bool // left out by the exporter
	files    int
	messages int
	readable int
	// unheld counts the readable messages the diff compares that lack
	// the fields no Genesys export holds (legal hold and audit trail),
	// in either shape.
	unheld int
	// mediaLacks counts, per field of mediaLacks, the readable messages
	// the diff compares that have it (as the diff knows it) and whose
	// format cannot hold it (the reshape: it keeps no media).
	mediaLacks [len(mediaLacks)]int
	damages    []Damage
	counts     map[finding.Kind]int
}

// mediaLacks are the media fields a format may keep nowhere (the
// reshape keeps no media): one format_lacks each for the whole export,
// counting the compared messages that have it.
var mediaLacks = [...]struct{ field, detail string }{
	{finding.FieldTemplateHeaderMedia, "the reshape keeps no media, so no template header media"},
	{finding.FieldAttachments, "the reshape keeps no media, so no attachments"},
}

// element is one message of the file being built.
type element struct {
	conv, id string
	kind     elemKind
	damages  []Damage
	unheld   bool // compared by a diff, and lacking what the format cannot hold
	// mediaLacks[f]: compared by a diff, which knows it has the media of
	// mediaLacks[f], and the format cannot hold that.
	mediaLacks [len(mediaLacks)]bool
	data       []byte
	end        int // offset just past the element's closing brace
}

type elemKind uint8

const (
	elemOriginal elemKind = iota // a captured message, first occurrence
	elemCopy                     // a duplicate
	elemExtra                    // fabricated: never captured
)

// rng returns the conversation's own random stream, so that results do not
// depend on the order or concurrency of the export.
func rng(seed uint64, convID string) *rand.Rand {
	h := sha256.Sum256([]byte(convID))
	return rand.New(rand.NewPCG(seed, binary.BigEndian.Uint64(h[:8])))
}

func derivedID(seed uint64, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d", seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	s := hex.EncodeToString(h.Sum(nil))
	return s[:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}

// text is the message text custody captures and hashes: its text and the
// normal form of its structured content (genesys.MessageText), which is
// what a recording export's messageText is compared by.
func text(m *genesys.MessageData) string { return genesys.MessageText(m) }

func exportConversation(ctx context.Context, orgID string, c *sim.ConvData, t Target, p *Profile) (convResult, error) {
	var res convResult
	if len(c.Messages) == 0 {
		// A voice conversation: a messaging export has no file of it
		// (custody captures no messages of it either), so it is skipped.
		res.skipped = true
		return res, nil
	}
	r := rng(p.Seed, c.ID)
	// Conversation-level draws, always in this order.
	dropConv := r.Float64() < p.DropConversations
	truncFile := r.Float64() < p.TruncateFiles
	zone := time.UTC
	if r.Float64() < p.ZoneOffsets {
		zone = offsetZone
	}
	cutAt := r.Float64() // where in the file a truncation cuts
	// What Genesys's exporter leaves out, in the order the diff infers
	// causes: not yet in the data lake, sensitive data not asked for, no
	// recording.
	absent := func(cause finding.Cause, why string) (convResult, error) {
		res.damages = append(res.damages, Damage{Kind: finding.ConversationAbsent, ConversationID: c.ID, Origin: OriginGenesysExporter, Cause: cause,
			Detail: fmt.Sprintf("conversation with %d messages left out of the export: %s", len(c.Messages), why)})
		return res, nil
	}
	switch lag := p.dataLakeLag(); {
	case !p.RunAt.IsZero() && c.End.After(p.RunAt.Add(-lag)):
		res.skipped = true
		return absent(finding.CausePendingDataLake, "ended less than "+lag.String()+" before the job ran, not yet in the data lake")
	case c.SensitiveData && !p.IncludeSensitiveData:
		res.skipped = true
		return absent(finding.CauseSensitiveDataExcluded, "its recording has sensitive data and the job did not ask for it")
	case dropConv:
		res.failed = true
		return absent(finding.CauseNoRecording, "no recording of it was exported")
	}

	recID := derivedID(p.Seed, "recording", c.ID)
	start := c.Start.UTC()
	var file string
	if p.Shape == ShapeGenesys {
		file = fmt.Sprintf("%s/year=%04d/month=%02d/day=%02d/hour=%02d/conversation_id=%s/%s.json",
			orgID, start.Year(), start.Month(), start.Day(), start.Hour(), c.ID, recID)
	} else {
		file = fmt.Sprintf("%s/%s/%s/%s.json", orgID, c.Kind, start.Format("2006-01-02"), c.ID)
	}
	parts := participants(c)
	dmg := func(kind finding.Kind, origin Origin, msgID, field, detail string) Damage {
		return Damage{Kind: kind, Origin: origin, ConversationID: c.ID, MessageID: msgID, Field: field, File: file, Detail: detail}
	}

	// Template header media and attachment damage, each from a stream of
	// its own.
	hr := rng(p.Seed, "template-header-media/"+c.ID)
	ar := rng(p.Seed, "attachments/"+c.ID)
	var elems []*element
	for k := range c.Messages {
		m := &c.Messages[k]
		// The template's header media as a diff knows it: the one the
		// message names (diff.Captured.HeaderMedia), downloaded or not.
		header := genesys.TemplateHeaderMedia(m)
		var stripHeader, alterHeader bool
		if header != nil {
			stripHeader = hr.Float64() < p.StripHeaderMedia
			alterHeader = hr.Float64() < p.AlterHeaderMedia
		}
		// The attachments as a diff knows them: every one the message
		// names (diff.Captured.Attachments), downloaded or not.
		attachments := genesys.AttachmentIDs(m)
		var dropAttachment, replaceAttachment bool
		var which int
		if len(attachments) > 0 && (p.DropAttachments > 0 || p.ReplaceAttachments > 0) {
			// Drawn only when asked for: a profile without attachment
			// damage draws nothing (TestAttachmentDamage compares the two).
			dropAttachment = ar.Float64() < p.DropAttachments
			replaceAttachment = ar.Float64() < p.ReplaceAttachments
			which = ar.IntN(len(attachments))
		}
		// Per-message draws, always all of them and in this order.
		var (
			drop      = r.Float64() < p.DropMessages
			shift     = r.Float64() < p.ShiftTimestamps
			cut       = r.Float64() < p.TruncateTimestamps
			alter     = r.Float64() < p.AlterContent
			cosmetic  = r.Float64() < p.Cosmetic
			sender    = r.Float64() < p.AlterSender
			duplicate = r.Float64() < p.Duplicate
			extra     = r.Float64() < p.Extra
			shiftBy   = time.Duration(1+r.IntN(7200)) * time.Second
			variant   = r.IntN(3)
		)
		if r.IntN(2) == 0 {
			shiftBy = -shiftBy
		}
		if drop {
			res.damages = append(res.damages, Damage{Kind: finding.MissingFromExport, Origin: OriginCustomerPipeline, ConversationID: c.ID, MessageID: m.ID,
				Detail: "message left out of the export"})
			continue
		}
		e := &element{conv: c.ID, id: m.ID, kind: elemOriginal}
		ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		if err != nil {
			return res, fmt.Errorf("recexport: conversation %s message %s: timestamp: %w", c.ID, m.ID, err)
		}
		if shift {
			ts = ts.Add(shiftBy)
			e.damages = append(e.damages, dmg(finding.TimestampShifted, OriginTampering, m.ID, finding.FieldTimestamp, "moved by "+shiftBy.String()))
		}
		layout := layoutMillis
		if cut || p.Shape == ShapeReshape {
			layout = layoutSeconds
			if !shift {
				e.damages = append(e.damages, dmg(finding.TimestampPrecisionLost, OriginCustomerPipeline, m.ID, finding.FieldTimestamp, "cut to whole seconds"))
			}
		}
		tsText := ts.In(zone).Format(layout)
		body := text(m)
		switch {
		case alter:
			var how string
			body, how = alterText(body, variant)
			e.damages = append(e.damages, dmg(finding.ContentDiffers, OriginTampering, m.ID, finding.FieldContent, how))
		case cosmetic:
			body = cosmeticText(body, variant)
		}
		from := m.FromAddress
		if p.Shape == ShapeGenesys && sender {
			from = "unknown-sender"
			if m.FromAddress == from {
				from += "-0"
			}
			e.damages = append(e.damages, dmg(finding.ValueAltered, OriginTampering, m.ID, finding.FieldSender, "sender replaced"))
		}
		// What the format itself cannot carry.
		if p.Shape == ShapeReshape || from == "" {
			e.damages = append(e.damages, dmg(finding.FieldStripped, OriginCustomerPipeline, m.ID, finding.FieldSender, "the reshape has no sender"))
		}
		// No Genesys export has a legal hold or an audit trail
		// reference, so neither has a reshape of one: nothing this
		// message lost, one format_lacks each for the whole export
		// (Export).
		e.unheld = true

		if p.Shape == ShapeReshape {
			// The reshape keeps no media: a property of its format, one
			// format_lacks each for the whole export (Export).
			e.mediaLacks = [...]bool{header != nil, len(attachments) > 0}
		}

		if p.Shape == ShapeGenesys {
			rm := recordingMessage(c, m, parts[m.ID], from, tsText, body)
			if hm := rm.NotificationTemplate; header != nil && hm != nil && hm.Header != nil && hm.Header.Media != nil {
				switch {
				case stripHeader:
					hm.Header.Media = nil
					e.damages = append(e.damages, dmg(finding.FieldStripped, OriginCustomerPipeline, m.ID, finding.FieldTemplateHeaderMedia, "template header media left out"))
				case alterHeader:
					other := derivedID(p.Seed, "header-media", c.ID, m.ID)
					hm.Header.Media.URL = strings.ReplaceAll(hm.Header.Media.URL, hm.Header.Media.ID, other)
					hm.Header.Media.ID = other
					e.damages = append(e.damages, dmg(finding.ValueAltered, OriginTampering, m.ID, finding.FieldTemplateHeaderMedia, "template header media replaced by another"))
				}
			}
			// Media and stickers are the message's attachments alike:
			// left out, both lists go; one of either may be replaced.
			media, stickers := rm.MessageMediaAttachments, rm.MessageStickerAttachments
			if n := len(media) + len(stickers); len(attachments) > 0 && n > 0 {
				switch {
				case dropAttachment:
					rm.MessageMediaAttachments, rm.MessageStickerAttachments = nil, nil
					e.damages = append(e.damages, dmg(finding.FieldStripped, OriginCustomerPipeline, m.ID, finding.FieldAttachments, "attachments left out"))
				case replaceAttachment:
					var id, url *string // the k-th of media, then stickers
					if k := which % n; k < len(media) {
						id, url = &media[k].ID, &media[k].URL
					} else {
						id, url = &stickers[k-len(media)].ID, &stickers[k-len(media)].URL
					}
					other := derivedID(p.Seed, "attachment", c.ID, m.ID, *id)
					*url = strings.ReplaceAll(*url, *id, other)
					*id = other
					e.damages = append(e.damages, dmg(finding.ValueAltered, OriginTampering, m.ID, finding.FieldAttachments, "an attachment replaced by another"))
				}
			}
			e.data, err = json.Marshal(rm)
		} else {
			e.data, err = json.Marshal(reshapeMessage{ID: m.ID, Content: body, Timestamp: tsText})
		}
		if err != nil {
			return res, fmt.Errorf("recexport: encode message %s: %w", m.ID, err)
		}
		elems = append(elems, e)
		if duplicate {
			elems = append(elems, &element{conv: c.ID, id: m.ID, kind: elemCopy, data: e.data,
				damages: []Damage{dmg(finding.Duplicated, OriginCustomerPipeline, m.ID, "", "message written twice")}})
		}
		if extra {
			x := fabricated(p, c, m, ts.Add(time.Millisecond))
			xt := x.ts.In(zone).Format(layout)
			var data []byte
			if p.Shape == ShapeGenesys {
				data, err = json.Marshal(recordingMessage(c, &x.msg, parts[m.ID], x.msg.FromAddress, xt, x.msg.TextBody))
			} else {
				data, err = json.Marshal(reshapeMessage{ID: x.msg.ID, Content: x.msg.TextBody, Timestamp: xt})
			}
			if err != nil {
				return res, fmt.Errorf("recexport: encode message %s: %w", x.msg.ID, err)
			}
			elems = append(elems, &element{conv: c.ID, id: x.msg.ID, kind: elemExtra, data: data,
				damages: []Damage{withCause(dmg(finding.NotCaptured, OriginTampering, x.msg.ID, "", "message custody never captured"), finding.CauseNotCaptured)}})
		}
	}

	head, tail, err := envelope(p, c, recID)
	if err != nil {
		return res, err
	}
	var buf bytes.Buffer
	buf.Write(head)
	arrayStart := buf.Len()
	for i, e := range elems {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  ")
		buf.Write(e.data)
		e.end = buf.Len()
	}
	buf.Write(tail)
	data := buf.Bytes()
	res.messages = len(elems)

	// A truncated file keeps the bytes before cut: at least the opening of
	// the message array, at most all but the closing brace and newline.
	cut := len(data)
	if truncFile {
		cut = arrayStart + int(cutAt*float64(len(data)-1-arrayStart))
		data = data[:cut]
		res.damages = append(res.damages, Damage{Kind: finding.FileUnreadable, Origin: OriginGenesysExporter, ConversationID: c.ID, File: file,
			Detail: fmt.Sprintf("file cut short at byte %d of %d", cut, buf.Len())})
	}
	for _, e := range elems {
		if e.end <= cut {
			res.readable++
			res.damages = append(res.damages, e.damages...)
			if e.unheld {
				res.unheld++
			}
			for f, lacks := range e.mediaLacks {
				if lacks {
					res.mediaLacks[f]++
				}
			}
			continue
		}
		// Cut off: an original message is missing; copies and fabricated
		// messages are simply gone.
		if e.kind == elemOriginal {
			res.damages = append(res.damages, Damage{Kind: finding.MissingFromExport, Origin: OriginGenesysExporter, ConversationID: c.ID, MessageID: e.id,
				Detail: "message lost in the truncated part of " + file})
		}
	}
	if err := t.Put(ctx, file, data); err != nil {
		return res, err
	}
	res.files++
	if p.Shape == ShapeGenesys {
		meta, err := metadata(c, recID, len(elems))
		if err != nil {
			return res, err
		}
		if err := t.Put(ctx, strings.TrimSuffix(file, ".json")+"_metadata.json", meta); err != nil {
			return res, err
		}
		res.files++
	}
	return res, nil
}

// alterText changes text so that its normalised form differs.
func alterText(s string, variant int) (string, string) {
	norm := func(x string) string { return strings.TrimSpace(norm.NFC.String(strings.ReplaceAll(x, "\r\n", "\n"))) }
	switch variant {
	case 0:
		if n := utf8.RuneCountInString(s); n >= 8 {
			runes := []rune(s)
			out := string(runes[:n/2])
			if norm(out) != norm(s) {
				return out, "text cut to its first half"
			}
		}
	case 1:
		if up := strings.ToUpper(s); norm(up) != norm(s) {
			return up, "text upper-cased"
		}
	}
	return s + " [edited]", "text appended"
}

// cosmeticText changes text only in ways content normalisation removes.
func cosmeticText(s string, variant int) string {
	switch variant {
	case 0:
		return "  " + s + " \r\n"
	case 1:
		return strings.ReplaceAll(s, "\n", "\r\n") + "\n"
	default:
		return norm.NFD.String(s)
	}
}

type reshapeMessage struct {
	ID        string `json:"id"`
	Content   string `json:"content"`
	Timestamp string `json:"timestamp"`
}

// participant is who sent a message, from the message conversation.
type participant struct{ id, purpose string }

func participants(c *sim.ConvData) map[string]participant {
	out := map[string]participant{}
	for _, mp := range c.MessageConversation.Participants {
		for _, md := range mp.Messages {
			out[md.MessageID] = participant{mp.ID, mp.Purpose}
		}
	}
	return out
}

func recordingMessage(c *sim.ConvData, m *genesys.MessageData, who participant, from, ts, body string) genesys.RecordingMessagingMessage {
	rm := genesys.RecordingMessagingMessage{
		From: from, To: m.ToAddress, Timestamp: ts, ID: m.ID, Status: m.Status,
		Purpose: who.purpose, ParticipantID: who.id, MessageText: body,
	}
	if m.CreatedBy != nil {
		rm.FromUser = &genesys.UserRef{ID: m.CreatedBy.ID, Name: m.CreatedBy.Name, SelfURI: m.CreatedBy.SelfURI}
	}
	// As the simulator's recordings give them: media and stickers in
	// the model's two lists, a mediaType outside the model's enum left
	// out.
	rm.MessageMediaAttachments, rm.MessageStickerAttachments = c.RecordingAttachments(m, nil)
	// A WhatsApp template, its header media included: model
	// Recordingmessagingmessage carries it in notificationTemplate.
	rm.NotificationTemplate = sim.RecordingTemplate(m, nil)
	return rm
}

type extraMessage struct {
	msg genesys.MessageData
	ts  time.Time
}

// fabricated is a message that never was: a pipeline's merge artefact.
func fabricated(p *Profile, c *sim.ConvData, after *genesys.MessageData, ts time.Time) extraMessage {
	id := strings.ReplaceAll(derivedID(p.Seed, "extra", c.ID, after.ID), "-", "")
	return extraMessage{ts: ts, msg: genesys.MessageData{
		ID: id, Timestamp: ts.UTC().Format(genesys.TimeLayout), FromAddress: after.FromAddress, ToAddress: after.ToAddress,
		TextBody: "Please confirm the transfer today.", ConversationID: c.ID, Status: after.Status,
	}}
}

// envelope is the message file around the messages array.
func envelope(p *Profile, c *sim.ConvData, recID string) (head, tail []byte, err error) {
	var b bytes.Buffer
	field := func(k string, v any) {
		if err != nil {
			return
		}
		var vb []byte
		vb, err = json.Marshal(v)
		fmt.Fprintf(&b, "%q:%s,", k, vb)
	}
	b.WriteString("{")
	if p.Shape == ShapeGenesys {
		field("id", recID)
		field("conversationId", c.ID)
		field("startTime", c.Start.UTC().Format(genesys.TimeLayout))
		field("endTime", c.End.UTC().Format(genesys.TimeLayout))
		field("media", "message")
		field("fileState", "AVAILABLE")
		b.WriteString(`"messagingTranscript":[`)
		tail = fmt.Appendf(nil, "\n],\"selfUri\":%q}\n", "/api/v2/conversations/"+c.ID+"/recordings/"+recID)
	} else {
		field("channel", c.Kind)
		b.WriteString(`"messages":[`)
		tail = []byte("\n]}\n")
	}
	return b.Bytes(), tail, err
}

type metadataFile struct {
	ConversationID string   `json:"conversationId"`
	RecordingID    string   `json:"recordingId"`
	MediaType      string   `json:"mediaType"`
	MediaSubtype   string   `json:"mediaSubtype"`
	Provider       string   `json:"provider"`
	UserIDs        []string `json:"userIds"`
	StartTime      string   `json:"startTime"`
	EndTime        string   `json:"endTime"`
	MessageCount   int      `json:"messageCount"`
}

func metadata(c *sim.ConvData, recID string, n int) ([]byte, error) {
	users := []string{}
	for _, mp := range c.MessageConversation.Participants {
		if mp.User != nil {
			users = append(users, mp.User.ID)
		}
	}
	b, err := json.MarshalIndent(metadataFile{
		ConversationID: c.ID, RecordingID: recID, MediaType: "Message", MediaSubtype: c.Kind,
		Provider: "Genesys Cloud", UserIDs: users,
		StartTime: c.Start.UTC().Format(genesys.TimeLayout), EndTime: c.End.UTC().Format(genesys.TimeLayout),
		MessageCount: n,
	}, "", " ")
	if err != nil {
		return nil, fmt.Errorf("recexport: encode metadata of %s: %w", c.ID, err)
	}
	return append(b, '\n'), nil
}

func withCause(d Damage, c finding.Cause) Damage {
	d.Cause = c
	return d
}
