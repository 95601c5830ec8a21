package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// MillisLayout is how timestamps are compared and printed: UTC, milliseconds.
const MillisLayout = "2006-01-02T15:04:05.000Z"

// NormalizeContent is the text whose hash is compared: Unicode NFC, CRLF
// turned into LF, leading and trailing white space trimmed. Whoever builds
// a Captured must hash with ContentHash so both sides agree.
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

// emptyContentHash is ContentHash(""): a message without text.
var emptyContentHash = ContentHash("")

// ParseTimestamp parses an RFC 3339 timestamp with any offset (a space
// instead of the 'T' is tolerated) and returns the instant in UTC and how
// many fractional-second digits the text carried (0–9).
func ParseTimestamp(s string) (time.Time, int, error) {
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
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

// precisionUnit is the time unit the last of digits fractional digits stands for.
func precisionUnit(digits int) time.Duration {
	u := time.Second
	for range min(digits, 9) {
		u /= 10
	}
	return u
}
