package genesys

import (
	"strings"
	"testing"
	"time"
)

// TestContentHash pins the hash the ledger's captures and the exports are
// compared by: both sides use ContentHash, so a change to it would not show
// in a diff's findings, only here.
func TestContentHash(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"Héllo\nworld", "df08c3f74df95d60586ba597b46c1ee5ad2429b88fae27f1417faf45a2fcda7a"},
		// NFD, CRLF and padding normalise away.
		{" \tHe\u0301llo\r\nworld \n", "df08c3f74df95d60586ba597b46c1ee5ad2429b88fae27f1417faf45a2fcda7a"},
	} {
		if got := ContentHash(tc.in); got != tc.want {
			t.Errorf("ContentHash(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestMessageText: normalizedMessage.text is the message's text; textBody
// (removed by Genesys on 2026-03-31) only stands in for a message without
// a normalizedMessage, so a textBody a proxy adds beside the real text is
// not taken for it.
func TestMessageText(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    MessageData
		want string
	}{
		{"normalizedMessage.text over textBody", MessageData{TextBody: "FAKE TEXTBODY", NormalizedMessage: &NormalizedMessage{Text: "b"}}, "b"},
		{"textBody beside a normalizedMessage without text", MessageData{TextBody: "FAKE TEXTBODY", NormalizedMessage: &NormalizedMessage{Type: "Text"}}, ""},
		{"normalizedMessage.text alone", MessageData{NormalizedMessage: &NormalizedMessage{Text: "b"}}, "b"},
		{"both, equal, as Genesys sent them", MessageData{TextBody: "b", NormalizedMessage: &NormalizedMessage{Text: "b"}}, "b"},
		{"textBody of an old capture without normalizedMessage", MessageData{TextBody: "a"}, "a"},
		{"structured parts follow normalizedMessage.text", MessageData{TextBody: "FAKE", NormalizedMessage: &NormalizedMessage{Text: "b",
			Content: []MessageContent{{ContentType: "QuickReply", QuickReply: &ContentQuickReply{Text: "Yes", Payload: "y"}}}}}, "b\n[quick reply] Yes | y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MessageText(&tc.m); got != tc.want {
				t.Errorf("MessageText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRemovedFields(t *testing.T) {
	for _, tc := range []struct {
		m    MessageData
		want string
	}{
		{MessageData{NormalizedMessage: &NormalizedMessage{Text: "b"}}, ""},
		{MessageData{TextBody: "a"}, "textBody"},
		{MessageData{Media: []MessageMedia{}}, "media"},
		{MessageData{TextBody: "a", Media: []MessageMedia{{ID: "x"}}}, "textBody,media"},
	} {
		if got := strings.Join(RemovedFields(&tc.m), ","); got != tc.want {
			t.Errorf("RemovedFields(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		digits int
	}{
		{"2024-03-01T12:30:00.123+02:30", "2024-03-01T10:00:00.123Z", 3},
		{"2024-03-01 10:00:00Z", "2024-03-01T10:00:00.000Z", 0},
		{"2024-03-01T10:00:00.123456789Z", "2024-03-01T10:00:00.123Z", 9},
		// RFC 3339 5.6: 't' and 'z' may be lower case.
		{"2024-01-03t10:00:42.140z", "2024-01-03T10:00:42.140Z", 3},
		{"2024-01-03t10:00:42z", "2024-01-03T10:00:42.000Z", 0},
		{"2024-01-03 10:00:42.140z", "2024-01-03T10:00:42.140Z", 3},
		{"2024-01-03t12:30:42.1+02:30", "2024-01-03T10:00:42.100Z", 1},
	} {
		got, digits, err := ParseTimestamp(tc.in)
		if err != nil || FormatMillis(got) != tc.want || digits != tc.digits || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %d, %v; want %s, %d", tc.in, got, digits, err, tc.want, tc.digits)
		}
	}
	for _, bad := range []string{"yesterday", "2024-01-03x10:00:42Z", "2024-01-03T10:00:42.140zz", "2024-01-03T10:00:42+02:00z", "z"} {
		if _, _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) did not fail", bad)
		}
	}
}

// TestStructuredText pins the normal form of each structured content type
// (docs/ledger-format.md, "The text of a message"): a change here changes
// the content_sha256 of every capture of such a message.
func TestStructuredText(t *testing.T) {
	nm := &NormalizedMessage{
		Text: "Pick one",
		Content: []MessageContent{
			{ContentType: "Attachment", Attachment: &ContentAttachment{ID: "a", Mime: "image/webp"}},
			{ContentType: "Text", Text: &ContentText{Body: "Pick one"}},
			{ContentType: "QuickReply", QuickReply: &ContentQuickReply{Text: "Billing", Payload: "BILLING", Action: "Message"}},
			{ContentType: "ButtonResponse", ButtonResponse: &ContentButtonResponse{Type: "ListPicker", Text: "Invoices", Payload: "invoice"}},
			{ContentType: "ListPicker", ListPicker: &ContentListPicker{Sections: []ListPickerSection{{Title: "Orders", Items: []ListPickerItem{{ID: "track", Title: "Track", Subtitle: "Where?"}}}}}},
			{ContentType: "Location", Location: &ContentLocation{Latitude: 51.5, Longitude: -0.125, Text: "Depot", Address: "1 Road"}},
			{ContentType: "Reactions", Reactions: []ContentReaction{{ReactionType: "Love", Count: 1}}},
			{ContentType: "Notification", Template: &NotificationTemplate{ID: "t1", Language: "en_GB",
				Header: &TemplateHeader{Type: "Text", Text: "Hi"}, Body: &TemplateBody{Text: "Order {{1}}", Parameters: []TemplateParameter{{Name: "1", Text: "42"}}},
				Footer: &TemplateFooter{Text: "STOP"}, Buttons: []TemplateButton{{Type: "Url", Index: 0, Text: "Track", URL: "https://x"}}}},
			{ContentType: "Carousel"},
		},
		Events: []MessageEvent{{EventType: "Typing", Typing: &TypingEvent{Type: "On"}}, {EventType: "Presence", Presence: &PresenceEvent{Type: "Join"}}},
	}
	want := "Pick one\n" +
		"[quick reply] Billing | BILLING\n" +
		"[button response ListPicker] Invoices | invoice\n" +
		"[list]\n[list section] Orders\n[list item] track | Track | Where?\n" +
		"[location] 51.5,-0.125 | Depot | 1 Road | \n" +
		"[reaction] Love | 1\n" +
		"[template] t1 | en_GB\n[template header Text] Hi\n[template body] Order {{1}}\n[template body parameter] 1 | 42\n[template footer] STOP\n" +
		"[template button Url] 0 | Track | https://x |  | \n" +
		"[Carousel]\n" +
		"[event Typing] On\n[event Presence] Join"
	if got := MessageText(&MessageData{NormalizedMessage: nm}); got != want {
		t.Errorf("MessageText:\n%s\nwant\n%s", got, want)
	}
	// Text alone, and receipts, leave the text as it was.
	plain := &MessageData{NormalizedMessage: &NormalizedMessage{Text: "hi", Content: []MessageContent{{ContentType: "Attachment"}}}, NormalizedReceipts: []NormalizedMessage{{Status: "Read"}}}
	if got := MessageText(plain); got != "hi" {
		t.Errorf("plain: %q", got)
	}
	if got := MessageText(&MessageData{NormalizedMessage: &NormalizedMessage{Content: []MessageContent{{ContentType: "Reactions", Reactions: []ContentReaction{{ReactionType: "Like", Count: 1}}}}}}); got != "[reaction] Like | 1" {
		t.Errorf("reaction alone: %q", got)
	}
}

func TestHasPaymentCard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"My card is 4111 1111 1111 1111, expiry 09/27", true},
		{"card 5500-0000-0000-0004 thanks", true},
		{"4012888888881881", true},
		{"order 4111 1111 1111 1112", false},              // Luhn fails
		{"Hi, I need help with my order 12345", false},    // too short
		{"call +447700900123 or 0044 7700 900123", false}, // phone numbers
		{"ref 41111111111111111111111 is long", false},    // 23 digits: no card
		{"", false},
	} {
		if got := HasPaymentCard(tc.in); got != tc.want {
			t.Errorf("HasPaymentCard(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
