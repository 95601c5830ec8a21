package leaf

import (
	"fmt"
	"time"
)

// TimeLayout is how the ledger writes times: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t in TimeLayout (UTC; nanoseconds below a millisecond
// are cut, not rounded, as time.Format does).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a time written in TimeLayout, exactly: three fraction
// digits after a dot. (time.Parse also takes a comma for the dot, which
// docs/ledger-format.md does not allow and other readers refuse.)
func ParseTime(s string) (time.Time, error) {
	if len(s) != len(TimeLayout) || s[19] != '.' {
		return time.Time{}, fmt.Errorf("time %q is not of the form %s", s, TimeLayout)
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	return t, nil
}
