package main

import (
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
