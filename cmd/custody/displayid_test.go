package main

import "testing"

// TestDisplayID: an id from an export is shown as it is only when it is
// plain printable text that cannot be misread in a list; else quoted.
func TestDisplayID(t *testing.T) {
	for id, want := range map[string]string{
		"0c1ce1e1-0a28-432d-bb7d-1296af2007b0": "0c1ce1e1-0a28-432d-bb7d-1296af2007b0",
		"café":                                 "café",
		"":                                     `""`,
		"a b":                                  `"a b"`,
		`a"b`:                                  `"a\"b"`,
		`a\b`:                                  `"a\\b"`,
		"a\x1b[2J":                             `"a\x1b[2J"`,
		"a\u009b":                              `"a\u009b"`,
		"a\u202e":                              `"a\u202e"`,
		"a\xff":                                `"a\xff"`,
		"a\uFFFD":                              `"a�"`,
	} {
		if got := displayID(id); got != want {
			t.Errorf("displayID(%q) = %s, want %s", id, got, want)
		}
	}
}
