package diff

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// headerCaptures are four captured messages of conversation c1: m1 a
// template whose header media is h1, m2 one whose header media h2 the
// index does not know (its evidence no longer stored), m3 a message
// with media but no template, m4 a text the index knows nothing of.
func headerCaptures() *MemIndex {
	idx := &MemIndex{}
	for _, c := range []struct {
		id, header string
		known      bool
	}{{"m1", "h1", true}, {"m2", "h2", false}, {"m3", "", true}, {"m4", "", false}} {
		idx.Add(Captured{ConversationID: "c1", MessageID: c.id, Timestamp: "2024-03-01T10:00:00.123Z",
			ContentSHA256: genesys.ContentHash("t"), Sender: "+1", LegalHold: ptr(false), AuditRefs: []string{"a1"},
			HeaderMedia: c.header, HeaderMediaKnown: c.known})
	}
	return idx
}

// recordingMsg is a transcript message matching headerCaptures but for
// its notificationTemplate (raw JSON, "" for none).
func recordingMsg(id, template string) string {
	m := `{"id":"` + id + `","timestamp":"2024-03-01T10:00:00.123Z","from":"+1","messageText":"t"`
	if template != "" {
		m += `,"notificationTemplate":` + template
	}
	return m + "}"
}

func withMedia(id string) string {
	return `{"id":"welcome","language":"en_GB","header":{"type":"Media","media":{"id":"` + id + `","url":"https://media/` + id + `","mediaType":"Image","mime":"image/jpeg","fileName":"x.jpg"}},"body":{"text":"Hi"}}`
}

// TestTemplateHeaderMedia: the Recording format carries a template's
// header media (notificationTemplate.header.media): an export that lacks
// the one custody captured is field_stripped, one that names another (or
// one where custody captured none) value_altered — but only where the
// index knows the capture's header media. A shape that keeps no media
// (the reshape, JSON Lines by default) says so once for the export,
// format_lacks counting the messages whose header media custody holds,
// never once per message.
func TestTemplateHeaderMedia(t *testing.T) {
	lenient := DefaultPolicy()
	lenient.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldTemplateHeaderMedia}
	notRequired := DefaultPolicy()
	notRequired.Required = []string{finding.FieldTimestamp, finding.FieldContent}
	hk := func(kind finding.Kind, msg string) key { return key{kind, "c1", msg, finding.FieldTemplateHeaderMedia} }
	genesysDoc := func(msgs ...string) map[string]string {
		return map[string]string{"conversation_id=c1/r.json": `{"conversationId":"c1","messagingTranscript":[` + strings.Join(msgs, ",") + `]}`}
	}
	kept := []string{recordingMsg("m1", withMedia("h1")), recordingMsg("m2", withMedia("h2")), recordingMsg("m3", ""), recordingMsg("m4", "")}
	cases := []struct {
		name  string
		files map[string]string
		pol   *Policy
		want  []key
		lacks int // format_lacks template_header_media count, 0 for none
	}{
		{"kept", genesysDoc(kept...), lenient, nil, 0},
		{"kept, default policy: only legal hold and audit are format_lacks", genesysDoc(kept...), nil,
			[]key{{finding.FormatLacks, "", "", finding.FieldLegalHold}, {finding.FormatLacks, "", "", finding.FieldAuditTrailID}}, 0},
		{"no notificationTemplate", genesysDoc(recordingMsg("m1", ""), kept[1], kept[2], kept[3]), lenient,
			[]key{hk(finding.FieldStripped, "m1")}, 0},
		{"header without its media", genesysDoc(recordingMsg("m1", `{"id":"welcome","header":{"type":"Media"}}`), kept[1], kept[2], kept[3]), lenient,
			[]key{hk(finding.FieldStripped, "m1")}, 0},
		{"media null", genesysDoc(recordingMsg("m1", `{"header":{"type":"Media","media":null}}`), kept[1], kept[2], kept[3]), lenient,
			[]key{hk(finding.FieldStripped, "m1")}, 0},
		{"another header media", genesysDoc(recordingMsg("m1", withMedia("h9")), kept[1], kept[2], kept[3]), lenient,
			[]key{hk(finding.ValueAltered, "m1")}, 0},
		{"header media where custody captured none", genesysDoc(kept[0], kept[1], recordingMsg("m3", withMedia("h9")), kept[3]), lenient,
			[]key{hk(finding.ValueAltered, "m3")}, 0},
		{"not a string", genesysDoc(recordingMsg("m1", `{"header":{"media":{"id":5}}}`), kept[1], kept[2], kept[3]), lenient,
			[]key{hk(finding.ValueAltered, "m1")}, 0},
		{"unknown to the index: not compared", genesysDoc(kept[0], recordingMsg("m2", withMedia("h9")), kept[2], recordingMsg("m4", withMedia("h8"))), lenient, nil, 0},
		{"unknown to the index, absent: not compared", genesysDoc(kept[0], recordingMsg("m2", ""), kept[2], kept[3]), lenient, nil, 0},
		{"not required: absence is no finding, a change still is", genesysDoc(recordingMsg("m1", ""), kept[1], recordingMsg("m3", withMedia("h9")), kept[3]), notRequired,
			[]key{hk(finding.ValueAltered, "m3")}, 0},
		{"reshape keeps no media: once for the export", map[string]string{"c1.json": `{"messages":[` +
			`{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},{"id":"m2","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},` +
			`{"id":"m3","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},{"id":"m4","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},` +
			`{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}]}`}, lenient,
			[]key{{finding.Duplicated, "c1", "m1", ""}, {finding.FormatLacks, "", "", finding.FieldTemplateHeaderMedia}}, 1},
		{"reshape, not required: nothing", map[string]string{"c1.json": `{"messages":[{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}]}`}, notRequired,
			[]key{{finding.MissingFromExport, "c1", "m2", ""}, {finding.MissingFromExport, "c1", "m3", ""}, {finding.MissingFromExport, "c1", "m4", ""}}, 0},
		{"JSON Lines name no header media by default", map[string]string{"a.jsonl": `{"conversation_id":"c1","message_id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m2","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m3","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m4","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n"}, lenient,
			[]key{{finding.FormatLacks, "", "", finding.FieldTemplateHeaderMedia}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, s := runDir(t, benchutil.WriteTree(t, tc.files), headerCaptures(), Options{Policy: tc.pol})
			if d := diffKeys(tc.want, keysOf(got)); d != "" {
				t.Errorf("%s\nfindings: %+v", d, got)
			}
			for _, f := range got {
				switch {
				case f.Field != finding.FieldTemplateHeaderMedia:
				case f.Kind == finding.FormatLacks:
					if f.Count != tc.lacks || f.Expected != "held=1" {
						t.Errorf("format_lacks counts %d messages (%s), want %d (held=1)", f.Count, f.Expected, tc.lacks)
					}
				case f.Kind == finding.FieldStripped && (f.Expected != "h1" || f.Got != ""),
					f.Kind == finding.ValueAltered && f.MessageID == "m1" && f.Expected != "h1",
					f.Kind == finding.ValueAltered && f.MessageID == "m3" && (f.Expected != "" || f.Got != "h9"):
					t.Errorf("finding %+v", f)
				}
			}
			if n := s.FormatLacks[finding.FieldTemplateHeaderMedia]; n != tc.lacks {
				t.Errorf("summary format_lacks %v, want template_header_media %d", s.FormatLacks, tc.lacks)
			}
			if tc.lacks > 0 {
				var text bytes.Buffer
				if err := WriteSummary(&text, s); err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`(?m)^format_lacks +1 \(fields the export's format cannot hold: template_header_media for 1 messages\)$`).Match(text.Bytes()) {
					t.Errorf("text summary:\n%s", text.String())
				}
			}
		})
	}
}

// TestCaptureOfHeaderMedia: CaptureOf takes the template's header media
// from the message, with or without a url (custody need not have
// downloaded it), always known, as the ledger's index knows it.
func TestCaptureOfHeaderMedia(t *testing.T) {
	tmpl := func(url string) *genesys.MessageData {
		return &genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{{ContentType: "Notification",
			Template: &genesys.NotificationTemplate{ID: "t", Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{ID: "h1", URL: url}}}}}}}
	}
	for _, tc := range []struct {
		m      *genesys.MessageData
		header string
		known  bool
	}{
		{tmpl("https://media/h1"), "h1", true},
		{tmpl(""), "h1", true}, // no url: never downloaded, still named
		{&genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Text: "hi"}}, "", true},
		{&genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{{ContentType: "Attachment",
			Attachment: &genesys.ContentAttachment{ID: "a1", URL: "https://media/a1"}}}}}, "", true},
	} {
		c := CaptureOf(tc.m, "c1", nil, nil, 0)
		if c.HeaderMedia != tc.header || c.HeaderMediaKnown != tc.known {
			t.Errorf("CaptureOf: header media %q known %v, want %q %v", c.HeaderMedia, c.HeaderMediaKnown, tc.header, tc.known)
		}
	}
}
