package diff

import (
	"bytes"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// attachmentCaptures are four captured messages of conversation c1: m1
// with one attachment, a1; m2 with two, a1 and a2; m3 with none; m4 one
// whose attachments the index does not know (its evidence no longer
// stored).
func attachmentCaptures() *MemIndex {
	idx := &MemIndex{}
	for _, c := range []struct {
		id, attachments string
		known           bool
	}{{"m1", "a1", true}, {"m2", "a1,a2", true}, {"m3", "", true}, {"m4", "a4", false}} {
		idx.Add(Captured{ConversationID: "c1", MessageID: c.id, Timestamp: "2024-03-01T10:00:00.123Z",
			ContentSHA256: genesys.ContentHash("t"), Sender: "+1", LegalHold: ptr(false), AuditRefs: []string{"a1"},
			Attachments: c.attachments, AttachmentsKnown: c.known})
	}
	return idx
}

// attachmentMsg is a transcript message matching attachmentCaptures but
// for its attachments: members after messageText (raw JSON, "" for none).
func attachmentMsg(id, members string) string {
	m := `{"id":"` + id + `","timestamp":"2024-03-01T10:00:00.123Z","from":"+1","messageText":"t"`
	if members != "" {
		m += "," + members
	}
	return m + "}"
}

// media is a messageMediaAttachments member holding ids, as model
// Messagemediaattachment gives them.
func media(ids ...string) string {
	var els []string
	for _, id := range ids {
		els = append(els, `{"id":"`+id+`","url":"https://media/`+id+`","mediaType":"image/jpeg","contentLength":100,"name":"`+id+`.jpg"}`)
	}
	return `"messageMediaAttachments":[` + strings.Join(els, ",") + `]`
}

// TestAttachments: the Recording format carries a message's attachments
// (messageMediaAttachments), compared by id as a set: an export that
// lacks them all is field_stripped, one whose set differs — one left
// out, one replaced, one where custody captured none — value_altered;
// order and repeats are no finding. Only where the index knows the
// capture's attachments. A shape that keeps no media (the reshape, JSON
// Lines by default) says so once for the export, format_lacks counting
// the messages whose attachments custody holds, never once per message.
func TestAttachments(t *testing.T) {
	lenient := DefaultPolicy()
	lenient.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldAttachments}
	notRequired := DefaultPolicy()
	notRequired.Required = []string{finding.FieldTimestamp, finding.FieldContent}
	ak := func(kind finding.Kind, msg string) key { return key{kind, "c1", msg, finding.FieldAttachments} }
	genesysDoc := func(msgs ...string) map[string]string {
		return map[string]string{"conversation_id=c1/r.json": `{"conversationId":"c1","messagingTranscript":[` + strings.Join(msgs, ",") + `]}`}
	}
	kept := []string{attachmentMsg("m1", media("a1")), attachmentMsg("m2", media("a1", "a2")), attachmentMsg("m3", ""), attachmentMsg("m4", media("a4"))}
	with := func(i int, m string) map[string]string {
		msgs := append([]string(nil), kept...)
		msgs[i] = m
		return genesysDoc(msgs...)
	}
	type want struct {
		k             key
		expected, got string
	}
	cases := []struct {
		name  string
		files map[string]string
		pol   *Policy
		want  []want
		lacks int // format_lacks attachments count, 0 for none
	}{
		{"kept", genesysDoc(kept...), lenient, nil, 0},
		{"kept, default policy: only legal hold and audit are format_lacks", genesysDoc(kept...), nil,
			[]want{{k: key{finding.FormatLacks, "", "", finding.FieldLegalHold}}, {k: key{finding.FormatLacks, "", "", finding.FieldAuditTrailID}}}, 0},
		{"another order, an id twice: a set", with(1, attachmentMsg("m2", media("a2", "a1", "a2"))), lenient, nil, 0},
		{"ids as strings", with(1, attachmentMsg("m2", `"messageMediaAttachments":["a2"," a1 "]`)), lenient, nil, 0},
		{"a sticker apart, when there is no media", with(0, attachmentMsg("m1", `"messageStickerAttachments":[{"id":"a1","url":"https://media/a1"}]`)), lenient, nil, 0},
		{"a sticker apart, the media list empty", with(0, attachmentMsg("m1", `"messageMediaAttachments":[],"messageStickerAttachments":[{"id":"a1"}]`)), lenient, nil, 0},
		{"media and a sticker: one set", with(1, attachmentMsg("m2", media("a1")+`,"messageStickerAttachments":[{"id":"a2","url":"https://media/a2"}]`)), lenient, nil, 0},
		{"media and a sticker, the sticker left out", with(1, attachmentMsg("m2", media("a1"))), lenient, []want{{ak(finding.ValueAltered, "m2"), "a1,a2", "a1"}}, 0},
		{"media and a sticker, one added", with(0, attachmentMsg("m1", media("a1")+`,"messageStickerAttachments":[{"id":"s9"}]`)), lenient,
			[]want{{ak(finding.ValueAltered, "m1"), "a1", "a1,s9"}}, 0},
		{"media and a sticker without an id", with(1, attachmentMsg("m2", media("a1", "a2")+`,"messageStickerAttachments":[{"url":"https://media/s"}]`)), lenient,
			[]want{{k: ak(finding.ValueAltered, "m2"), expected: "a1,a2"}}, 0},
		{"left out", with(0, attachmentMsg("m1", "")), lenient, []want{{ak(finding.FieldStripped, "m1"), "a1", ""}}, 0},
		{"empty list", with(0, attachmentMsg("m1", `"messageMediaAttachments":[]`)), lenient, []want{{ak(finding.FieldStripped, "m1"), "a1", ""}}, 0},
		{"null", with(0, attachmentMsg("m1", `"messageMediaAttachments":null`)), lenient, []want{{ak(finding.FieldStripped, "m1"), "a1", ""}}, 0},
		{"one of two left out", with(1, attachmentMsg("m2", media("a2"))), lenient, []want{{ak(finding.ValueAltered, "m2"), "a1,a2", "a2"}}, 0},
		{"replaced", with(0, attachmentMsg("m1", media("a9"))), lenient, []want{{ak(finding.ValueAltered, "m1"), "a1", "a9"}}, 0},
		{"one added", with(0, attachmentMsg("m1", media("a1", "a9"))), lenient, []want{{ak(finding.ValueAltered, "m1"), "a1", "a1,a9"}}, 0},
		{"where custody captured none", with(2, attachmentMsg("m3", media("a9"))), lenient, []want{{ak(finding.ValueAltered, "m3"), "", "a9"}}, 0},
		{"an attachment without an id", with(0, attachmentMsg("m1", `"messageMediaAttachments":[{"id":"a1"},{"url":"https://media/x"}]`)), lenient,
			[]want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"an empty id", with(0, attachmentMsg("m1", `"messageMediaAttachments":[{"id":" "}]`)), lenient, []want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"a number id", with(0, attachmentMsg("m1", `"messageMediaAttachments":[{"id":1}]`)), lenient, []want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"its id twice, two values", with(0, attachmentMsg("m1", `"messageMediaAttachments":[{"id":"a1","id":"a9"}]`)), lenient,
			[]want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"not a list", with(0, attachmentMsg("m1", `"messageMediaAttachments":true`)), lenient, []want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"a list of numbers", with(0, attachmentMsg("m1", `"messageMediaAttachments":[1]`)), lenient, []want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"the key twice, two values", with(0, attachmentMsg("m1", media("a1")+","+media("a9"))), lenient, []want{{k: ak(finding.ValueAltered, "m1"), expected: "a1"}}, 0},
		{"unknown to the index: not compared", with(3, attachmentMsg("m4", media("a9"))), lenient, nil, 0},
		{"unknown to the index, absent: not compared", with(3, attachmentMsg("m4", "")), lenient, nil, 0},
		{"not required: absence is no finding, a change still is", genesysDoc(attachmentMsg("m1", ""), kept[1], attachmentMsg("m3", media("a9")), kept[3]), notRequired,
			[]want{{ak(finding.ValueAltered, "m3"), "", "a9"}}, 0},
		{"reshape keeps no media: once for the export", map[string]string{"c1.json": `{"messages":[` +
			`{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},{"id":"m2","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},` +
			`{"id":"m3","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},{"id":"m4","content":"t","timestamp":"2024-03-01T10:00:00.123Z"},` +
			`{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}]}`}, lenient,
			[]want{{k: key{finding.Duplicated, "c1", "m1", ""}}, {k: key{finding.FormatLacks, "", "", finding.FieldAttachments}}}, 2},
		{"reshape, not required: nothing", map[string]string{"c1.json": `{"messages":[{"id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}]}`}, notRequired,
			[]want{{k: key{finding.MissingFromExport, "c1", "m2", ""}}, {k: key{finding.MissingFromExport, "c1", "m3", ""}}, {k: key{finding.MissingFromExport, "c1", "m4", ""}}}, 0},
		{"JSON Lines name no attachments by default", map[string]string{"a.jsonl": `{"conversation_id":"c1","message_id":"m1","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m2","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m3","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n" +
			`{"conversation_id":"c1","message_id":"m4","content":"t","timestamp":"2024-03-01T10:00:00.123Z"}` + "\n"}, lenient,
			[]want{{k: key{finding.FormatLacks, "", "", finding.FieldAttachments}}}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, s := runDir(t, benchutil.WriteTree(t, tc.files), attachmentCaptures(), Options{Policy: tc.pol})
			var keys []key
			for _, w := range tc.want {
				keys = append(keys, w.k)
			}
			if d := diffKeys(keys, keysOf(got)); d != "" {
				t.Errorf("%s\nfindings: %+v", d, got)
			}
			for _, f := range got {
				if f.Field != finding.FieldAttachments {
					continue
				}
				if f.Kind == finding.FormatLacks {
					if f.Count != tc.lacks || f.Expected != "held=2" {
						t.Errorf("format_lacks counts %d messages (%s), want %d (held=2)", f.Count, f.Expected, tc.lacks)
					}
					continue
				}
				for _, w := range tc.want {
					if w.k != (key{f.Kind, f.ConversationID, f.MessageID, f.Field}) {
						continue
					}
					if f.Expected != w.expected || w.got != "" && f.Got != w.got || f.Kind == finding.FieldStripped && f.Got != "" {
						t.Errorf("finding %+v: want expected %q, got %q", f, w.expected, w.got)
					}
				}
			}
			if n := s.FormatLacks[finding.FieldAttachments]; n != tc.lacks {
				t.Errorf("summary format_lacks %v, want attachments %d", s.FormatLacks, tc.lacks)
			}
			if tc.lacks > 0 {
				var text bytes.Buffer
				if err := WriteSummary(&text, s); err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`(?m)^format_lacks +1 \(fields the export's format cannot hold: attachments for 2 messages\)$`).Match(text.Bytes()) {
					t.Errorf("text summary:\n%s", text.String())
				}
			}
		})
	}
}

// TestCaptureOfAttachments: CaptureOf takes the ids of the message's
// attachments, with or without a url (custody need not have downloaded
// them), and not its template's header media; always known.
func TestCaptureOfAttachments(t *testing.T) {
	att := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: id, URL: url}}
	}
	header := genesys.MessageContent{ContentType: "Notification", Template: &genesys.NotificationTemplate{ID: "t",
		Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{ID: "h1", URL: "https://media/h1"}}}}
	msg := func(cs ...genesys.MessageContent) *genesys.MessageData {
		return &genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Content: cs}}
	}
	for _, tc := range []struct {
		m    *genesys.MessageData
		want string
	}{
		{msg(att("a2", "https://media/a2"), att("a1", "")), "a1,a2"},
		{msg(att("a1", "")), "a1"}, // no url: never downloaded, still named
		{msg(header), ""},
		{msg(header, att("a1", "https://media/a1")), "a1"},
		{&genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Text: "hi"}}, ""},
		{&genesys.MessageData{ID: "m1"}, ""},
	} {
		c := CaptureOf(tc.m, "c1", nil, nil, 0)
		if c.Attachments != tc.want || !c.AttachmentsKnown {
			t.Errorf("CaptureOf: attachments %q known %v, want %q true", c.Attachments, c.AttachmentsKnown, tc.want)
		}
	}
}

// TestCommaInIDs: an id holding a comma (odd or hostile export input, or
// an odd capture) neither makes two sets of attachments or audit
// references compare equal nor blurs the finding: ["a,b"] and ["a","b"]
// are two sets, shown as two (the one id in quotes, as a CSV field).
func TestCommaInIDs(t *testing.T) {
	pol := DefaultPolicy()
	pol.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldAuditTrailID, finding.FieldAttachments}
	capture := func(id string, attachments, audit []string) Captured {
		return Captured{ConversationID: "c1", MessageID: id, Timestamp: "2024-03-01T10:00:00.123Z",
			ContentSHA256: genesys.ContentHash("t"), Sender: "+1", AuditRefs: audit,
			Attachments: AttachmentSet(attachments), AttachmentsKnown: true}
	}
	idx := &MemIndex{}
	idx.Add(capture("m1", []string{"a,b"}, []string{"r1"}))
	idx.Add(capture("m2", []string{"a", "b"}, []string{"r1"}))
	idx.Add(capture("m3", nil, []string{"x", "y"}))
	idx.Add(capture("m4", nil, []string{"x,y"}))
	line := func(id, members string) string {
		return `{"conversation_id":"c1","message_id":"` + id + `","content":"t","timestamp":"2024-03-01T10:00:00.123Z",` + members + "}\n"
	}
	jp := pol.Shapes["jsonl"]
	jp.Fields = maps.Clone(jp.Fields)
	jp.Fields[finding.FieldAttachments] = []string{"attachments"}
	pol.Shapes = maps.Clone(pol.Shapes)
	pol.Shapes["jsonl"] = jp
	files := map[string]string{"a.jsonl": line("m1", `"audit_trail_id":["r1"],"attachments":["a","b"]`) +
		line("m2", `"audit_trail_id":["r1"],"attachments":["a,b"]`) +
		line("m3", `"audit_trail_id":["x,y"]`) +
		line("m4", `"audit_trail_id":["x","y"]`)}
	got, _ := runDir(t, benchutil.WriteTree(t, files), idx, Options{Policy: pol})
	want := []Finding{
		{Kind: finding.ValueAltered, MessageID: "m1", Field: finding.FieldAttachments, Expected: `"a,b"`, Got: "a,b"},
		{Kind: finding.ValueAltered, MessageID: "m2", Field: finding.FieldAttachments, Expected: "a,b", Got: `"a,b"`},
		{Kind: finding.ValueAltered, MessageID: "m3", Field: finding.FieldAuditTrailID, Expected: "x,y", Got: `"x,y"`},
		{Kind: finding.ValueAltered, MessageID: "m4", Field: finding.FieldAuditTrailID, Expected: `"x,y"`, Got: "x,y"},
	}
	if len(got) != len(want) {
		t.Fatalf("findings %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.Kind || g.MessageID != w.MessageID || g.Field != w.Field || g.Expected != w.Expected || g.Got != w.Got {
			t.Errorf("finding %d: %s %s %s expected %q got %q, want %s %s %s expected %q got %q",
				i, g.Kind, g.MessageID, g.Field, g.Expected, g.Got, w.Kind, w.MessageID, w.Field, w.Expected, w.Got)
		}
	}
}
