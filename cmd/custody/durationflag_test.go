package main

import (
	"errors"
	"testing"
	"time"
)

// TestParseDaysDuration: whole days or a Go duration; days past what a
// time.Duration holds, fractions of days and other units are refused,
// never wrapped or rounded.
func TestParseDaysDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"0", 0, true},
		{"2160h", 90 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"-1d", -24 * time.Hour, true}, // each flag refuses a negative one itself
		{"106751d", 106751 * 24 * time.Hour, true},
		{"106752d", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"90 d", 0, false},
		{"90days", 0, false},
		{"1d12h", 0, false},
	} {
		got, err := parseDaysDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDaysDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestParseDaysDurationTooLarge: a value of the right form past what a
// duration holds is said to be too large, with the bound, not told to
// take the form it has (review-commits6 L2).
func TestParseDaysDurationTooLarge(t *testing.T) {
	for in, want := range map[string]error{
		"106752d":               errDaysTooLarge,
		"99999999999999999999d": errDaysTooLarge,
		"-106752d":              errDaysTooLarge,
		"2562048h":              errDaysTooLarge,
		"9999999999999999999ns": errDaysTooLarge,
		".h":                    errDaysDuration,
		"1.5.3h":                errDaysDuration,
		"abc":                   errDaysDuration,
		"":                      errDaysDuration,
		"1.5d":                  errDaysDuration,
	} {
		if _, err := parseDaysDuration(in); !errors.Is(err, want) {
			t.Errorf("parseDaysDuration(%q): %v, want %v", in, err, want)
		}
	}
}
