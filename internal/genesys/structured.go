package genesys

import (
	"strconv"
	"strings"
)

// StructuredText is the normal form of a normalized message's structured
// parts, the lines MessageText appends to the text so that ContentHash
// covers them: a template, the quick replies offered, a button or list
// answer, a list, a location, reactions and events. Each part gives one or
// more lines "[tag] field | field …", in content order, events after
// content; fields are written as the API gives them (numbers in Go's
// shortest decimal form). Left out: attachments and stickers (their bytes
// are captured and hashed apart, detail.media), plain Text content whose
// body is the message text, and receipts (delivery status changes after
// capture; it is not content). A content type without a normal form here
// gives "[ContentType]" so that its presence still counts. The form is
// deterministic, not a parser's grammar: it exists to be hashed the same
// way by the capture and by whoever rebuilds a message from an export.
// It returns "" for nil or a message with nothing structured.
func StructuredText(nm *NormalizedMessage) string {
	if nm == nil {
		return ""
	}
	var lines []string
	add := func(tag string, fields ...string) {
		line := "[" + tag + "]"
		if len(fields) > 0 {
			line += " " + strings.Join(fields, " | ")
		}
		lines = append(lines, line)
	}
	for _, c := range nm.Content {
		switch c.ContentType {
		case "Attachment":
		case "Text":
			if c.Text != nil && c.Text.Body != nm.Text {
				add("text", c.Text.Body)
			}
		case "QuickReply":
			if q := c.QuickReply; q != nil {
				add("quick reply", q.Text, q.Payload)
			} else {
				add("quick reply")
			}
		case "ButtonResponse":
			if b := c.ButtonResponse; b != nil {
				add("button response "+b.Type, b.Text, b.Payload)
			} else {
				add("button response")
			}
		case "ListPicker":
			add("list")
			if l := c.ListPicker; l != nil {
				for _, sec := range l.Sections {
					add("list section", sec.Title)
					for _, it := range sec.Items {
						add("list item", it.ID, it.Title, it.Subtitle)
					}
				}
			}
		case "Location":
			if l := c.Location; l != nil {
				add("location", num(l.Latitude)+","+num(l.Longitude), l.Text, l.Address, l.URL)
			} else {
				add("location")
			}
		case "Reactions":
			for _, r := range c.Reactions {
				add("reaction", r.ReactionType, strconv.Itoa(r.Count))
			}
			if len(c.Reactions) == 0 {
				add("reaction")
			}
		case "Notification":
			tm := c.Template
			if tm == nil {
				add("template")
				continue
			}
			add("template", tm.ID, tm.Language)
			if h := tm.Header; h != nil {
				add("template header "+h.Type, h.Text)
				params(add, "template header parameter", h.Parameters)
			}
			if b := tm.Body; b != nil {
				add("template body", b.Text)
				params(add, "template body parameter", b.Parameters)
			}
			if f := tm.Footer; f != nil {
				add("template footer", f.Text)
			}
			for _, b := range tm.Buttons {
				add("template button "+b.Type, strconv.Itoa(b.Index), b.Text, b.URL, b.PhoneNumber, b.Payload)
				params(add, "template button parameter", b.Parameters)
			}
		default:
			add(c.ContentType)
		}
	}
	for _, e := range nm.Events {
		switch {
		case e.Typing != nil:
			add("event "+e.EventType, e.Typing.Type)
		case e.Presence != nil:
			add("event "+e.EventType, e.Presence.Type)
		default:
			add("event " + e.EventType)
		}
	}
	return strings.Join(lines, "\n")
}

func params(add func(string, ...string), tag string, ps []TemplateParameter) {
	for _, p := range ps {
		add(tag, p.Name, p.Text)
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
