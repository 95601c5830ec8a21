package millis

import (
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// checkParse holds Parse to its reference: whenever it says yes,
// genesys.ParseTimestamp gives the same time with 3 digits and
// FormatMillis gives s back; and whenever the reference parses s into a
// time that FormatMillis spells as s itself, Parse says yes (so the fast
// path is taken for every canonical timestamp, not only most). The
// []byte form answers as the string form.
func checkParse(t *testing.T, s string) {
	t.Helper()
	ft, ok := Parse(s)
	if bt, bok := Parse([]byte(s)); bt != ft || bok != ok {
		t.Fatalf("Parse(%q) = %v %v, as bytes %v %v", s, ft, ok, bt, bok)
	}
	rt, digits, err := genesys.ParseTimestamp(s)
	canonical := err == nil && digits == 3 && genesys.FormatMillis(rt) == s
	if ok != canonical {
		t.Fatalf("Parse(%q) ok=%v, reference canonical=%v (err %v, digits %d)", s, ok, canonical, err, digits)
	}
	if ok && (ft != rt || !ft.Equal(rt)) {
		t.Fatalf("Parse(%q) = %v, reference %v", s, ft, rt)
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{
		"2024-03-01T00:00:03.125Z",
		"2024-02-29T23:59:59.999Z", // leap year
		"2023-02-29T00:00:00.000Z", // not one
		"1900-02-29T00:00:00.000Z", // century, not a leap year
		"2000-02-29T00:00:00.000Z", // every 400 years
		"0000-01-01T00:00:00.000Z",
		"9999-12-31T23:59:59.999Z",
		"2024-04-31T00:00:00.000Z",
		"2024-04-30T00:00:00.000Z",
		"2024-00-10T00:00:00.000Z",
		"2024-13-10T00:00:00.000Z",
		"2024-01-00T00:00:00.000Z",
		"2024-01-32T00:00:00.000Z",
		"2024-01-01T24:00:00.000Z",
		"2024-01-01T23:60:00.000Z",
		"2024-01-01T23:59:60.000Z", // a leap second: time rejects it
		"2024-01-01T00:00:00.000z",
		"2024-01-01t00:00:00.000Z",
		"2024-01-01 00:00:00.000Z", // ParseTimestamp takes it; FormatMillis does not give it back
		"2024-01-01T00:00:00.00Z",
		"2024-01-01T00:00:00.0000Z",
		"2024-01-01T00:00:00.000+00:00",
		"2024-01-01T00:00:00Z",
		"+024-01-01T00:00:00.000Z",
		"2024-01-01T00:00:00.-00Z",
		"2024-1-01T00:00:00.0000Z",
		"２024-01-01T00:00:00.000Z",
		"",
	} {
		checkParse(t, s)
	}
	// Every day of a leap and a common year, and some times of day.
	for _, year := range []int{2023, 2024} {
		for d := 0; d < 366; d++ {
			tm := genesysDate(year, d)
			checkParse(t, genesys.FormatMillis(tm))
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-03-01T00:00:03.125Z", "2024-02-29T23:59:59.999Z", "2023-02-29T00:00:00.000Z", "2024-01-01T23:59:60.000Z", "2024-01-01 00:00:00.000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, s) })
}

func genesysDate(year, day int) time.Time {
	return time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day).Add(time.Duration(day) * 997 * time.Millisecond * 61)
}
