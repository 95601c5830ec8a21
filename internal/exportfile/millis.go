package exportfile

import "time"

// ParseMillis is genesys.ParseTimestamp's fast path for a timestamp
// already in genesys.MillisLayout ("2006-01-02T15:04:05.000Z", how the
// ledger and Genesys spell them): it returns the time and true exactly
// when s has that form and ParseTimestamp accepts it, in which case
// ParseTimestamp's time is the same, with 3 digits, and FormatMillis of it
// is s again. Anything else is false, and the caller takes the reference
// path. The diff parses and prints a timestamp on each side of every
// message it compares; time.Parse and Format were ≈ 3 % of its CPU.
// TestParseMillis and FuzzParseMillis hold it to the reference.
func ParseMillis(s string) (time.Time, bool) {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, ms := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC).UTC(), true
}

// daysIn is the number of days of month in year (proleptic Gregorian, as
// package time counts them).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
