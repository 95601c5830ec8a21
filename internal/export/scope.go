package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/genesys"
)

// Scope is what an export captures: an interval through an analytics job,
// or an explicit list of conversation ids. It is recorded in the run entry
// and decides whether a rerun resumes an earlier run (same scope) or
// starts a new one.
type Scope struct {
	Matter      string   `json:"matter"`
	Interval    string   `json:"interval,omitempty"`     // ISO 8601 START/END, UTC
	MediaType   string   `json:"media_type,omitempty"`   // analytics mediaType, "message"
	MessageType string   `json:"message_type,omitempty"` // analytics messageType, "whatsapp"
	IDs         []string `json:"conversation_ids,omitempty"`
	WithMedia   bool     `json:"with_media,omitempty"`
}

// Key identifies the scope for resuming: same key, same run.
func (s Scope) Key() string {
	if len(s.IDs) > 0 {
		return fmt.Sprintf("ids:%s:%d:%s", s.Matter, len(s.IDs), strings.Join(s.IDs, ","))
	}
	return fmt.Sprintf("interval:%s:%s:%s/%s", s.Matter, s.Interval, s.MediaType, s.MessageType)
}

// ParseInterval accepts START/END as RFC 3339 timestamps or dates
// (2024-01-01/2024-02-01, END exclusive) and returns the canonical
// Genesys interval string.
func ParseInterval(s string) (string, time.Time, time.Time, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return "", time.Time{}, time.Time{}, fmt.Errorf("interval %q: want START/END, e.g. 2024-01-01/2024-02-01 or 2024-01-01T00:00:00Z/2024-01-02T00:00:00Z", s)
	}
	start, err := parseInstant(a)
	if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("interval start: %w", err)
	}
	end, err := parseInstant(b)
	if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("interval end: %w", err)
	}
	if !end.After(start) {
		return "", time.Time{}, time.Time{}, fmt.Errorf("interval %q: end must be after start", s)
	}
	const layout = "2006-01-02T15:04:05.000Z"
	return start.Format(layout) + "/" + end.Format(layout), start, end, nil
}

func parseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date (YYYY-MM-DD)", s)
}

// ValidID reports whether id is safe to use as a conversation or message
// id (genesys.ValidID, which verify shares).
func ValidID(id string) bool { return genesys.ValidID(id) }

// ErrBadIDs is returned for an ids file that holds no usable id.
var ErrBadIDs = errors.New("export: bad ids file")

// ReadIDs reads conversation ids, one per line; blank lines and lines
// starting with # are ignored; an id in UUID form is taken in lower case
// (canonicalID); duplicates are dropped, order kept. A line that is not a
// valid id is an error naming the line.
func ReadIDs(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	seen := map[string]bool{}
	var ids []string
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !ValidID(s) {
			return nil, fmt.Errorf("%w: line %d: %q is not a conversation id", ErrBadIDs, line, truncate(s, 80))
		}
		s = canonicalID(s)
		if !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIDs, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no conversation ids", ErrBadIDs)
	}
	return ids, nil
}

// canonicalID lower-cases an id in UUID form (8-4-4-4-12 hex digits).
// Genesys writes conversation ids as lower-case UUIDs; a list from a
// spreadsheet may hold them in upper case, which the API answers with a
// 404, recorded as deleted upstream. Any other id is kept as it is.
func canonicalID(s string) string {
	if len(s) != 36 {
		return s
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return s
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return s
		}
	}
	return strings.ToLower(s)
}

// truncate cuts s to at most n bytes, the "…" that marks the cut
// included, on a character boundary, after replacing bytes that are not
// UTF-8: a cut character or a stray byte would be written as U+FFFD by
// the JSON encoder, a reason not the one built and past its bound
// (review-commits5 L2).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	if n < len("…") {
		return ""
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
