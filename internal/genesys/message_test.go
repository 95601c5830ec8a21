package genesys

import (
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

func TestMessageText(t *testing.T) {
	if got := MessageText(&MessageData{TextBody: "a", NormalizedMessage: &NormalizedMessage{Text: "b"}}); got != "a" {
		t.Errorf("textBody first: got %q", got)
	}
	if got := MessageText(&MessageData{NormalizedMessage: &NormalizedMessage{Text: "b"}}); got != "b" {
		t.Errorf("normalizedMessage.text without textBody: got %q", got)
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
	} {
		got, digits, err := ParseTimestamp(tc.in)
		if err != nil || FormatMillis(got) != tc.want || digits != tc.digits || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %d, %v; want %s, %d", tc.in, got, digits, err, tc.want, tc.digits)
		}
	}
	if _, _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("ParseTimestamp(yesterday) did not fail")
	}
}
