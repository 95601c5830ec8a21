package main

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestServeHelpNamesReadyLine: the ready line a serving command's help
// shows has the members of the line it prints.
func TestServeHelpNamesReadyLine(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "custody.db")
	for _, args := range [][]string{
		{"--ledger", ledger, "init", "--matter", "m"},
		{"witness", "keygen", "--name", "w.example", "--out", filepath.Join(dir, "w")},
	} {
		var stdout, stderr strings.Builder
		if c := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); c != 0 {
			t.Fatalf("%v: exit %d: %s", args, c, stderr.String())
		}
	}
	member := regexp.MustCompile(`"([a-z_]+)":`)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"witness serve", []string{"witness", "serve", "--key", filepath.Join(dir, "w.key"), "--log-key", filepath.Join(dir, "custody.pub"), "--state", filepath.Join(dir, "ws")}},
		{"sim tsa", []string{"sim", "tsa"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready, stop := serveLine(t, tc.args...)
			if c := stop(); c != 0 {
				t.Fatalf("exit %d", c)
			}
			var got []string
			for k := range ready {
				got = append(got, k)
			}
			slices.Sort(got)
			var help, stderr strings.Builder
			if c := run(context.Background(), append(strings.Fields(tc.name), "--help"), strings.NewReader(""), &help, &stderr); c != 0 {
				t.Fatalf("--help: exit %d", c)
			}
			line := regexp.MustCompile(`(?m)^  (\{"url".*\})$`).FindStringSubmatch(help.String())
			if line == nil {
				t.Fatalf("help shows no ready line:\n%s", help.String())
			}
			var want []string
			for _, m := range member.FindAllStringSubmatch(line[1], -1) {
				want = append(want, m[1])
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("help shows the ready line %s; it prints members %v", line[1], got)
			}
		})
	}
}
