package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// exitCodesOf returns the codes cmd's EXIT STATUS block lists, or nil if
// its help has none.
func exitCodesOf(cmd *cobra.Command) []int {
	_, block, ok := strings.Cut(cmd.Long, "\nEXIT STATUS\n")
	if !ok {
		return nil
	}
	var codes []int
	for _, m := range regexp.MustCompile(`(?m)^  ([0-9]+) `).FindAllStringSubmatch(block, -1) {
		n, _ := strconv.Atoi(m[1])
		codes = append(codes, n)
	}
	return codes
}

func allCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		if c.Name() == "help" || c.Hidden {
			continue
		}
		out = append(out, allCommands(c)...)
	}
	return out
}

// Every command's help has at least one example and an EXIT STATUS block
// of known codes (issue 17).
func TestHelpExamplesAndExitStatus(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	for _, c := range allCommands(newRootCommand(g)) {
		t.Run(c.CommandPath(), func(t *testing.T) {
			if !regexp.MustCompile(`(?m)^Examples:\n  custody `).MatchString(c.Long) {
				t.Errorf("help has no 'Examples:' with a 'custody …' line")
			}
			codes := exitCodesOf(c)
			if len(codes) == 0 {
				t.Fatalf("help has no EXIT STATUS block listing codes")
			}
			if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
				t.Errorf("codes %v not in order", codes)
			}
			for _, code := range codes {
				if !slices.Contains([]int{exitOK, exitError, exitUsage, exitFindings, exitUnsigned, exitCancelled}, code) {
					t.Errorf("unknown exit code %d", code)
				}
			}
			if !slices.Contains(codes, exitUsage) {
				t.Errorf("every command can be misused: 2 missing from %v", codes)
			}
		})
	}
}

// Every exit status a testscript expects from a command ("status N custody
// …") is listed in that command's EXIT STATUS block.
func TestHelpExitStatusMatchesScripts(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	root := newRootCommand(g)
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^status ([0-9]+) custody (.*)$`)
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range line.FindAllSubmatch(data, -1) {
			code, _ := strconv.Atoi(string(m[1]))
			cmd := root
			for _, w := range strings.Fields(string(m[2])) {
				for _, c := range cmd.Commands() {
					if c.Name() == w {
						cmd = c
						break
					}
				}
			}
			if code == exitUsage && cmd == root {
				continue // an unknown command: cobra's usage error
			}
			seen++
			if !slices.Contains(exitCodesOf(cmd), code) {
				t.Errorf("%s: %q exits %d, not listed under EXIT STATUS of '%s' %v", f, bytes.TrimSpace(m[0]), code, cmd.CommandPath(), exitCodesOf(cmd))
			}
		}
	}
	if seen < 20 {
		t.Errorf("only %d status lines checked", seen)
	}
}

// Every choice flag, on every command that declares it, completes.
func TestChoiceFlagsComplete(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	root := newRootCommand(g)
	n := 0
	for _, c := range allCommands(root) {
		for name := range choiceCompletions() {
			if c.LocalFlags().Lookup(name) == nil {
				continue
			}
			n++
			if _, ok := c.GetFlagCompletionFunc(name); !ok {
				t.Errorf("'%s --%s' has no completion", c.CommandPath(), name)
			}
		}
	}
	if n < 6 {
		t.Errorf("only %d choice flags found", n)
	}
}

// exitLine returns the entry for code in cmd's EXIT STATUS block, its
// continuation lines joined by single spaces ("" if it has none).
func exitLine(cmd *cobra.Command, code int) string {
	_, block, _ := strings.Cut(cmd.Long, "\nEXIT STATUS\n")
	m := regexp.MustCompile(`(?ms)^  ` + strconv.Itoa(code) + ` +(.*?)(?:\n  [0-9]|\z)`).FindStringSubmatch(block)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(m[1]), " ")
}

// Each kind of usage error a command returns is named, at least by its
// category, by the 2 line of its EXIT STATUS: a reader of the help can
// tell a usage error from bad input (1) without running the command.
func TestHelpUsageErrorsDescribed(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "custody.db")
	for _, args := range [][]string{
		{"--ledger", db, "init", "--matter", "m"},
		{"witness", "keygen", "--name", "w.example", "--out", filepath.Join(dir, "w")},
	} {
		var stderr strings.Builder
		if c := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); c != 0 {
			t.Fatalf("%v: exit %d: %s", args, c, stderr.String())
		}
	}
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noKey := filepath.Join(t.TempDir(), "custody.db") // no custody.pub beside it
	for _, tc := range []struct {
		args []string // after --ledger db
		says string   // in the 2 line
	}{
		// Every command: flags parse the same way.
		{[]string{"log", "--limit", "-1"}, "invalid"},
		{[]string{"log", "--kind", "nosuch"}, "invalid"},
		{[]string{"prove", "--seq", "-2"}, "invalid"},
		{[]string{"prove", "--seq", "x"}, "invalid"},
		{[]string{"prove", "--seq", "1", "--message", "m"}, "contradictory"},
		{[]string{"init"}, "missing"},
		{[]string{"checkpoint", "--tsa", "ftp://x"}, "invalid"},
		{[]string{"matter", "set-evidence", "ftp://x"}, "invalid"},
		{[]string{"matter", "set-evidence", "s3:///x"}, "invalid"},
		{[]string{"diff", "s3://Bad_Bucket!/x"}, "invalid"},
		{[]string{"sim", "serve", "--export-to", "s3:///x"}, "invalid"},
		{[]string{"verify", "--evidence", "s3://ab"}, "invalid"},
		// verify lists its own.
		{[]string{"verify", "--key", filepath.Join(dir, "custody.key")}, "a signer key, or a file that holds no verifier key, given as --key"},
		{[]string{"verify", "--key", file}, "a file that holds no verifier key, given as --key"},
		{[]string{"verify", "--witness", filepath.Join(dir, "w.key")}, "--witness"},
		{[]string{"verify", "--proof", file, "--checkpoint", file}, "--proof with --checkpoint"},
		{[]string{"verify", "--proof", file, "--report", file}, "--proof with --checkpoint or --report"},
		{[]string{"verify", "--production", dir, "--evidence"}, "--production with --checkpoint or --evidence"},
		{[]string{"verify", "--no-derive"}, "--no-derive without --evidence"},
		{[]string{"verify", "--evidence", filepath.Join(dir, "nofolder")}, "an --evidence LOC that is no folder"},
		{[]string{"verify", "--witness-threshold", "2"}, "invalid value"},
		{[]string{"--ledger", noKey, "verify", "--proof", file}, "no verifier key for --proof"},
		// report
		{[]string{"report", "--timezone", "Mars/Olympus_Mons"}, "a time zone"},
		{[]string{"report", "--proofs", "some"}, "--proofs"},
		{[]string{"report", "--no-record", "--key", filepath.Join(dir, "custody.key")}, "--key with --no-record"},
		{[]string{"report", "--key", filepath.Join(dir, "custody.pub"), "--no-verify", "--out", filepath.Join(dir, "r")}, "a verifier key as --key"},
		// witness cosign refuses an --out that exists before it cosigns.
		{[]string{"witness", "cosign", "--key", filepath.Join(dir, "w.key"), "--log-key", filepath.Join(dir, "custody.pub"),
			"--state", filepath.Join(dir, "ws"), "--checkpoint", file, "--out", file}, "an --out file that exists"},
	} {
		args := append([]string{"--ledger", db}, tc.args...)
		name := strings.NewReplacer(dir+"/", "", dir, ".", filepath.Dir(noKey)+"/", "").Replace(strings.Join(tc.args, " "))
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
			cmd, _, err := newRootCommand(g).Find(args)
			if err != nil {
				t.Fatal(err)
			}
			if c := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); c != exitUsage {
				t.Fatalf("exit %d, want %d (a usage error): %s", c, exitUsage, stderr.String())
			}
			if line := exitLine(cmd, exitUsage); !strings.Contains(line, tc.says) {
				t.Errorf("'%s' exits 2 (%s), but its EXIT STATUS 2 line does not say %q: %s", cmd.CommandPath(), strings.TrimSpace(stderr.String()), tc.says, line)
			}
		})
	}
}

// ctrlC says what Ctrl-C does to each command, so that its EXIT STATUS
// can be checked: a command that works on the ledger, evidence, S3 or
// the network with the context stops with 130 and lists it; a server
// stops serving, its 0 line says so, and lists no 130 — unless Ctrl-C
// before it serves (a long start) cancels it ("stop, cancel before"): it
// lists 130 then, saying "before"; a command with nothing long to cut
// short (flag parsing, a key made, a group's help) lists none. A new
// command must be added here.
var ctrlC = map[string]string{
	"custody":                       "cancel",
	"custody init":                  "none", // one small file made
	"custody export":                "cancel",
	"custody log":                   "cancel",
	"custody checkpoint":            "cancel",
	"custody prove":                 "cancel", // reads every leaf hash, and the evidence for --fields
	"custody verify":                "cancel",
	"custody erase":                 "cancel",
	"custody hold":                  "cancel",
	"custody release":               "cancel",
	"custody diff":                  "cancel",
	"custody refetch":               "cancel",
	"custody report":                "cancel",
	"custody produce":               "cancel",
	"custody demo":                  "cancel",
	"custody matter":                "none",
	"custody matter set-evidence":   "cancel",
	"custody witness":               "none",
	"custody witness keygen":        "none",
	"custody witness serve":         "stop",
	"custody witness cosign":        "none",   // reads two small files; no context
	"custody witness proof":         "cancel", // reads every leaf hash
	"custody witness attach":        "none",   // a few rows read and written
	"custody sim":                   "none",
	"custody sim serve":             "stop, cancel before", // makes the org, opens an s3:// --export-to
	"custody sim tsa":               "stop",
	"custody bench":                 "cancel",
	"custody bench export":          "cancel",
	"custody bench verify":          "cancel",
	"custody bench diff":            "cancel",
	"custody completion":            "none",
	"custody completion bash":       "none",
	"custody completion fish":       "none",
	"custody completion powershell": "none",
	"custody completion zsh":        "none",
}

// Every command that Ctrl-C cancels lists 130 under EXIT STATUS; servers,
// which Ctrl-C stops, say so in their 0 line; no other command lists 130.
func TestHelpExitStatusCancel(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	seen := map[string]bool{}
	for _, c := range allCommands(newRootCommand(g)) {
		path := c.CommandPath()
		seen[path] = true
		kind, ok := ctrlC[path]
		if !ok {
			t.Errorf("'%s' is not in ctrlC: say what Ctrl-C does to it", path)
			continue
		}
		lists := slices.Contains(exitCodesOf(c), exitCancelled)
		stops := strings.HasPrefix(kind, "stop")
		switch {
		case kind == "cancel" && !lists:
			t.Errorf("'%s' can be cancelled (Ctrl-C), but its EXIT STATUS does not list 130", path)
		case kind == "stop, cancel before" && (!lists || !strings.Contains(exitLine(c, exitCancelled), "before")):
			t.Errorf("'%s' is cancelled by Ctrl-C before it serves, but its 130 line does not say so: %s", path, exitLine(c, exitCancelled))
		case (kind == "stop" || kind == "none") && lists:
			t.Errorf("'%s' lists 130, but ctrlC says Ctrl-C %s", path, map[string]string{"stop": "stops it (exit 0)", "none": "has nothing to cancel"}[kind])
		case stops && !strings.Contains(exitLine(c, exitOK), "Ctrl-C"):
			t.Errorf("'%s' stops on Ctrl-C, but its 0 line does not say so: %s", path, exitLine(c, exitOK))
		}
	}
	for path := range ctrlC {
		if !seen[path] {
			t.Errorf("ctrlC names '%s', which is no command", path)
		}
	}
}

// No flag's help shows a default that contradicts it (docs review
// finding 18): a text that says its default in words gets no second
// "(default X)" from pflag, and a number that stands for "not given"
// (prove --seq -1) shows none.
func TestHelpDefaultsTrue(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	twice := regexp.MustCompile(`\(default[: ].*\(default `)
	for _, c := range allCommands(newRootCommand(g)) {
		for line := range strings.Lines(c.LocalFlags().FlagUsagesWrapped(0)) {
			if twice.MatchString(line) || strings.Contains(line, "(default -1)") {
				t.Errorf("'%s': %s", c.CommandPath(), strings.TrimSpace(line))
			}
		}
	}
}
