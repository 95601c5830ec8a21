package genesys

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// The normal forms of a message's text and timestamp. custody's capture
// (internal/export) and the diff of old exports (internal/diff) both
// reduce a message through these, so the two sides of a comparison
// agree by construction: they are properties of a Genesys message, not
// of either verb.

// MillisLayout is how timestamps are compared and printed: UTC,
// milliseconds — the way Genesys spells them (TimeLayout).
const MillisLayout = TimeLayout

// MessageText is the text of a captured message that ContentHash covers:
// normalizedMessage.text, where Genesys keeps message content, followed
// by one line per structured part (StructuredText). textBody, which
// Genesys removed on 2026-03-31, is read only for a message that has no
// normalizedMessage at all: while Genesys sent both, textBody was
// normalizedMessage.text, so every message it ever sent reduces to the
// same text as when textBody was read first; a textBody beside a
// normalizedMessage that says otherwise was not sent by Genesys (a
// proxy, an edited body) and is not the message's text
// (docs/ledger-format.md, "The text of a message").
func MessageText(m *MessageData) string {
	text := m.TextBody
	if m.NormalizedMessage != nil {
		text = m.NormalizedMessage.Text
	}
	if s := StructuredText(m.NormalizedMessage); s != "" {
		if text == "" {
			return s
		}
		return text + "\n" + s
	}
	return text
}

// RemovedFields names the members of m that Genesys no longer sends
// (textBody and media, removed on 2026-03-31), in that order: a response
// carrying one was not served by today's API as it is (an old capture, a
// proxy, another server). nil when there are none.
func RemovedFields(m *MessageData) []string {
	var out []string
	if m.TextBody != "" {
		out = append(out, "textBody")
	}
	if m.Media != nil {
		out = append(out, "media")
	}
	return out
}

// TemplateHeaderMedia is the media of m's WhatsApp template header
// (template.header.media: an image, video or document): that of the first
// template in its normalizedMessage.content whose header has media, with
// or without a url; nil if none.
func TemplateHeaderMedia(m *MessageData) *ContentAttachment {
	if n := m.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			if t := c.Template; t != nil && t.Header != nil && t.Header.Media != nil {
				return t.Header.Media
			}
		}
	}
	return nil
}

// AttachmentIDs lists the ids of m's attachments
// (normalizedMessage.content[].attachment: photos, documents, voice
// notes, stickers), with or without a url, in content order; a
// template's header media is not one (TemplateHeaderMedia).
func AttachmentIDs(m *MessageData) []string {
	var ids []string
	if n := m.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			if a := c.Attachment; a != nil {
				ids = append(ids, a.ID)
			}
		}
	}
	return ids
}

// NormalizeContent is the text whose hash is compared: Unicode NFC, CRLF
// turned into LF, leading and trailing white space trimmed. Whoever builds
// a capture must hash with ContentHash so both sides agree.
func NormalizeContent(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimSpace(norm.NFC.String(s))
}

// ContentHash is the lower-case hex SHA-256 of NormalizeContent(s).
func ContentHash(s string) string {
	h := sha256.Sum256([]byte(NormalizeContent(s)))
	var x [2 * sha256.Size]byte // one allocation, the result's, per message
	hex.Encode(x[:], h[:])
	return string(x[:])
}

// ParseTimestamp parses an RFC 3339 timestamp with any offset (a space
// instead of the 'T' is tolerated; a lower-case 't' and 'z' are the same
// instant, RFC 3339 5.6) and returns the instant in UTC and how many
// fractional-second digits the text carried (0–9).
func ParseTimestamp(s string) (time.Time, int, error) {
	// package time reads 'T' and 'Z' only.
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if len(s) > 10 && s[len(s)-1] == 'z' {
		s = s[:len(s)-1] + "Z"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("parse timestamp %q: %w", s, err)
	}
	digits := 0
	if len(s) > 19 && s[19] == '.' {
		for i := 20; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	return t.UTC(), digits, nil
}

// FormatMillis prints t as MillisLayout.
func FormatMillis(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(MillisLayout) }
