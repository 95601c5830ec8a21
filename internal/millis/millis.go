package millis

import "time"

// Layout is the form Parse reads, in package time's notation.
const Layout = "2006-01-02T15:04:05.000Z"

// Parse returns the time s spells and true exactly when s has Layout's
// form with every field in range — what time.Parse(Layout, s) accepts in
// this fixed-width form — and false for anything else, whose caller takes
// the reference path. The time is in UTC, and Format(Layout) of it is s
// again. TestParse and FuzzParse hold it to genesys.ParseTimestamp.
func Parse[S ~string | ~[]byte](s S) (time.Time, bool) {
	if len(s) != len(Layout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
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
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC), true
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
