package main

import (
	"bytes"
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
		if c.Name() == "help" || c.Name() == "completion" || c.Hidden {
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
				if !slices.Contains([]int{exitOK, exitError, exitUsage, exitFindings, exitCancelled}, code) {
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
