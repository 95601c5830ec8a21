package derive

import (
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestMessageMediaStatus: a message entry built with attachments recorded
// as not stored for good (expired, refused, mismatched) round-trips
// through its detail, and one with only downloaded attachments keeps the
// bytes it had before status, reason and stated_sha256 existed.
func TestMessageMediaStatus(t *testing.T) {
	md := &genesys.MessageData{ID: "m1", Timestamp: "2024-03-01T20:07:38.363Z", NormalizedMessage: &genesys.NormalizedMessage{
		Content: []genesys.MessageContent{
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a1", URL: "https://media/a1"}},
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a2", URL: "https://media/a2"}},
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a3", URL: "https://media/a3"}},
		},
	}}
	sum := strings.Repeat("ab", 32)
	media := []leaf.MediaRef{
		{ID: "a1", SHA256: sum, Evidence: sum},
		{ID: "a2", Status: leaf.MediaExpired, Reason: "403 Forbidden: AccessDenied: Request has expired"},
		{ID: "a3", SHA256: sum, Evidence: sum, Status: leaf.MediaSHA256Mismatch, StatedSHA256: strings.Repeat("cd", 32), Reason: "the downloaded bytes do not have the sha256 the API states"},
	}
	e, err := Message("c1", md, [32]byte{}, false, nil, media, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*leaf.MessageDetail).Media; !reflect.DeepEqual(got, media) {
		t.Fatalf("media round-trip:\n got %+v\nwant %+v", got, media)
	}
	// Evidence named: the two downloads, not the expired one.
	refs := d.EvidenceRefs()
	if len(refs) != 2 {
		t.Fatalf("evidence refs %+v, want the 2 downloaded attachments", refs)
	}
	if ids := Attachments(md); !reflect.DeepEqual(ids, []string{"a1", "a2", "a3"}) {
		t.Fatalf("attachments %v", ids)
	}

	// Without the new members the detail is what it always was.
	old, err := Message("c1", md, [32]byte{}, false, nil, media[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `"media":[{"evidence_sha256":"` + sum + `","id":"a1","sha256":"` + sum + `"}]`
	if !strings.Contains(string(old.Detail), want) {
		t.Fatalf("detail %s lacks the old form %s", old.Detail, want)
	}
}

// TestMediaTemplateHeader: a template's header media is media of its
// message after the content attachments, in content order (Media,
// HeaderMedia), and a detail's media ids match the message (MediaMatch)
// exactly when they are the attachments followed by the header media, or
// — captured before export downloaded header media — the attachments
// alone.
func TestMediaTemplateHeader(t *testing.T) {
	tmpl := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Notification", Template: &genesys.NotificationTemplate{ID: "t-" + id,
			Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{ID: id, URL: url, Mime: "image/jpeg"}}}}
	}
	att := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: id, URL: url}}
	}
	md := &genesys.MessageData{ID: "m1", NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{
		tmpl("h1", "https://media/h1"),
		att("a1", "https://media/a1"),
		tmpl("h-nourl", ""),
		{ContentType: "Notification", Template: &genesys.NotificationTemplate{ID: "text", Header: &genesys.TemplateHeader{Type: "Text", Text: "Hello"}}},
		{ContentType: "Notification"},
		att("a2", "https://media/a2"),
		tmpl("h2", "https://media/h2"),
	}}}
	var ids []string
	for _, a := range Media(md) {
		ids = append(ids, a.ID)
	}
	if want := []string{"a1", "a2", "h1", "h2"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("Media %v, want %v", ids, want)
	}
	if got := HeaderMedia(md); !reflect.DeepEqual(got, []string{"h1", "h2"}) {
		t.Fatalf("HeaderMedia %v", got)
	}
	if got := Attachments(md); !reflect.DeepEqual(got, []string{"a1", "a2"}) {
		t.Fatalf("Attachments %v", got)
	}
	if got := WithoutURL(md); !reflect.DeepEqual(got, []string{"h-nourl"}) {
		t.Fatalf("WithoutURL %v", got)
	}
	for _, tc := range []struct {
		ids []string
		ok  bool
	}{
		{[]string{"a1", "a2", "h1", "h2"}, true}, // captured with header media
		{[]string{"a1", "a2"}, true},             // captured before
		{nil, false},
		{[]string{"a1", "a2", "h1"}, false}, // some of the header media
		{[]string{"a1", "a2", "h2", "h1"}, false},
		{[]string{"h1", "h2", "a1", "a2"}, false},
		{[]string{"a1", "h1", "a2", "h2"}, false},
		{[]string{"a1", "a2", "h1", "h2", "h2"}, false},
		{[]string{"a1", "a2", "h1", "h2", "x"}, false},
		{[]string{"a1", "a2", "h-nourl"}, false},            // the url-less without the header media before it
		{[]string{"a1", "a2", "h1", "h2", "h-nourl"}, true}, // asked of the Recordings service (4b4008c)
		{[]string{"a1", "a2", "h1", "h2", "h-nourl", "h-nourl"}, false},
		{[]string{"a2", "a1"}, false},
		{[]string{"a1"}, false},
	} {
		if got := MediaMatch(md, tc.ids); got != tc.ok {
			t.Errorf("MediaMatch(%v) = %v, want %v", tc.ids, got, tc.ok)
		}
	}
	// A message without header media: its attachments alone, as always.
	plain := &genesys.MessageData{NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{att("a1", "https://media/a1")}}}
	if !MediaMatch(plain, []string{"a1"}) || MediaMatch(plain, []string{"a1", "a1"}) || MediaMatch(plain, nil) {
		t.Error("MediaMatch on a message without header media")
	}
	if !MediaMatch(&genesys.MessageData{}, nil) || MediaMatch(&genesys.MessageData{}, []string{"x"}) || Media(&genesys.MessageData{}) != nil {
		t.Error("a message without content")
	}
	// Only media with a url are downloaded: a template whose one header
	// media has none gives nothing.
	if ids := Media(&genesys.MessageData{NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{tmpl("h", "")}}}); len(ids) != 0 {
		t.Errorf("Media of url-less header media: %v", ids)
	}
}

// TestTemplateHeaderMediaAgrees: genesys.TemplateHeaderMedia, which the
// diff's captures take (with or without a url), is the first template
// header media HeaderMedia lists; on the template cases above and every
// sample message.
func TestTemplateHeaderMediaAgrees(t *testing.T) {
	tmpl := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Notification", Template: &genesys.NotificationTemplate{ID: "t-" + id,
			Header: &genesys.TemplateHeader{Type: "Media", Media: &genesys.ContentAttachment{ID: id, URL: url}}}}
	}
	att := func(id, url string) genesys.MessageContent {
		return genesys.MessageContent{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: id, URL: url}}
	}
	msg := func(cs ...genesys.MessageContent) *genesys.MessageData {
		return &genesys.MessageData{NormalizedMessage: &genesys.NormalizedMessage{Content: cs}}
	}
	cases := []struct {
		md     *genesys.MessageData
		header string
	}{
		{&genesys.MessageData{}, ""},
		{msg(), ""},
		{msg(att("a", "")), ""},
		{msg(att("a", "https://m/a")), ""},
		{msg(tmpl("h", "")), "h"},
		{msg(tmpl("h", "https://m/h")), "h"},
		{msg(tmpl("h1", ""), tmpl("h2", "https://m/h2")), "h1"},
		{msg(att("a", ""), tmpl("h", "")), "h"},
		{msg(genesys.MessageContent{ContentType: "Notification", Template: &genesys.NotificationTemplate{Header: &genesys.TemplateHeader{Type: "Text", Text: "Hi"}}}), ""},
	}
	headers := 0
	for _, raw := range sampleMessages(t) {
		md, _, err := DecodeMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		if ids := HeaderMedia(md); len(ids) > 0 {
			want = ids[0]
			headers++
		}
		cases = append(cases, struct {
			md     *genesys.MessageData
			header string
		}{md, want})
	}
	if headers == 0 {
		t.Fatal("no sample message has template header media")
	}
	for i, tc := range cases {
		got := ""
		if a := genesys.TemplateHeaderMedia(tc.md); a != nil {
			got = a.ID
		}
		if got != tc.header {
			t.Errorf("case %d: TemplateHeaderMedia %q, want %q", i, got, tc.header)
		}
	}
}
