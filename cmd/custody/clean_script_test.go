package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// rawBytes is a Go byte slice printed with %v: "[148 57 205 …]".
var rawBytes = regexp.MustCompile(`\[[0-9]{1,3}( [0-9]{1,3}){3,}\]`)

// cleanScriptCmds: `clean-stderr` checks the last command's stderr for
// what issue 17 says no message may carry: a raw byte array, an operation
// prefix given twice ("verify: evidence: verify: evidence: …"), or a bare
// "context canceled".
func cleanScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"clean-stderr": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 0 {
				ts.Fatalf("usage: clean-stderr")
			}
			for _, line := range strings.Split(ts.ReadFile("stderr"), "\n") {
				if why := dirtyLine(line); why != "" {
					ts.Fatalf("stderr %s: %s", why, line)
				}
			}
		},
	}
}

// dirtyLine says what is wrong with a line of stderr ("" if nothing).
func dirtyLine(line string) string {
	if m := rawBytes.FindString(line); m != "" {
		return "has a raw byte array " + m
	}
	if msg, ok := strings.CutPrefix(line, "custody: "); ok && cleanChain(msg) != msg {
		return "repeats an operation prefix"
	}
	if strings.Contains(line, "context canceled") {
		return "says context canceled"
	}
	return ""
}

func TestDirtyLine(t *testing.T) {
	for line, dirty := range map[string]bool{
		"custody: verify: evidence: get sha256/ab/…: not a directory":               false,
		"custody: verify: calculated root [148 57 205 12 9] does not match":         true,
		"custody: verify: ledger: verify: evidence: verify: evidence: walk: broken": true,
		"custody: fetch: GET /api/v2/conversations/c1: context canceled":            true,
		"custody: cancelled; state saved, rerun the same command to resume":         false,
		"custody: hint: set --s3-region or AWS_REGION (e.g. eu-west-1)":             false,
		`time=… level=INFO msg="fetch: request failed, retrying" attempt=1/8`:       false,
	} {
		if got := dirtyLine(line) != ""; got != dirty {
			t.Errorf("dirtyLine(%q) = %q, want dirty %v", line, dirtyLine(line), dirty)
		}
	}
}
