package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/shellarg"
)

// TestREADMEWalkthrough runs the README's walkthrough as written: its
// first ```sh block (`custody sim serve …`) in the background, as the
// first terminal, and the next block, as the second terminal, in the same
// empty folder, with `custody` on PATH being this test binary. The text
// is run exactly as written: the second block reads the simulator's values
// from the file its --ready-file wrote, and a <placeholder> fails. Each
// command must exit with the status its trailing comment names
// (`# exit 3: …`; 0 without one) and, for `prints "TEXT"`, print a line
// starting with TEXT. A README edit that breaks the walkthrough fails here.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole walkthrough against the simulator (about a minute)")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README walkthrough needs %s (scripts/install-test-deps.sh installs it): %v", tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(t, string(readme))
	if len(blocks) != 2 {
		t.Fatalf("README walkthrough: %d ```sh blocks, want 2 (the simulator's terminal, then the user's)", len(blocks))
	}
	serve := commands(blocks[0])
	if len(serve) != 1 || !strings.HasPrefix(serve[0].text, "custody sim serve ") {
		t.Fatalf("README walkthrough: the first block must be exactly one `custody sim serve …` command, got %+v", serve)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, work, results := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Symlink(exe, filepath.Join(bin, "custody")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.TempDir(),
		childEnv+"=1",              // the test binary runs as custody (TestMain)
		"CUSTODY_LEDGER=",          // the default ledger, ./custody.db
		"GORACE=atexit_sleep_ms=0", // under -race, no 1 s sleep at every exit
		"GENESYSCLOUD_OAUTHCLIENT_ID=", "GENESYSCLOUD_OAUTHCLIENT_SECRET=",
	)

	// Terminal 1: the simulator, until the test ends.
	sim := exec.Command("bash", "-c", blocks[0])
	sim.Dir, sim.Env = work, env
	sim.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	simErrFile, err := os.Create(filepath.Join(results, "sim.err"))
	if err != nil {
		t.Fatal(err)
	}
	defer simErrFile.Close()
	sim.Stderr = simErrFile
	simErr := func() string { b, _ := os.ReadFile(simErrFile.Name()); return string(b) }
	out, err := sim.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-sim.Process.Pid, syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- sim.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("custody sim serve: %v after Ctrl-C\n%s", err, tail(simErr(), 20))
			}
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-sim.Process.Pid, syscall.SIGKILL)
			<-done
			t.Errorf("custody sim serve did not stop within 30 s of Ctrl-C")
		}
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	var ready map[string]any
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &ready); err != nil {
			t.Fatalf("custody sim serve: ready line %q: %v\n%s", line, err, tail(simErr(), 20))
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("custody sim serve printed no ready line within 2 minutes\n%s", tail(simErr(), 20))
	}

	// Terminal 2: every command of the second block, in one shell, each
	// one's exit status and output kept apart.
	text := blocks[1]
	if m := regexp.MustCompile(`<[a-z_]+>`).FindString(text); m != "" {
		t.Fatalf("README walkthrough: placeholder %s: the walkthrough runs as written, so its values must come from sim.json (--ready-file)", m)
	}
	steps := commands(text)
	// With faults on, the simulator answers some requests 5xx, and a curl
	// without --retry fails the walkthrough now and then (CI did).
	if strings.Contains(serve[0].text, "--faults") {
		for _, c := range steps {
			for _, call := range strings.Split(c.text, "curl ")[1:] {
				if !strings.Contains(call, "--retry") {
					t.Errorf("README walkthrough: the simulator injects faults, but this curl has no --retry: curl %s", call)
				}
			}
		}
	}
	var script strings.Builder
	script.WriteString("set -o pipefail\n")
	for i, c := range steps {
		f := filepath.Join(results, strconv.Itoa(i))
		fmt.Fprintf(&script, "{ %s\n} >%q 2>%q\nrc=$?; echo $rc >%q; [ $rc -eq %d ] || exit 0\n", c.text, f+".out", f+".err", f+".rc", c.exit)
	}
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir, sh.Env = work, env
	// On timeout, stop the shell and whatever it runs, not only bash.
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sh.Cancel = func() error { return syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
	sh.WaitDelay = 10 * time.Second
	b, shErr := sh.CombinedOutput()
	if shErr != nil && ctx.Err() == nil {
		t.Fatalf("walkthrough shell: %v\n%s", shErr, b)
	}
	for i, c := range steps {
		f := filepath.Join(results, strconv.Itoa(i))
		rc, err := os.ReadFile(f + ".rc")
		if err != nil {
			t.Fatalf("step %d did not finish (shell: %v; %v): %s", i+1, shErr, ctx.Err(), c.text)
		}
		stdout, _ := os.ReadFile(f + ".out")
		stderr, _ := os.ReadFile(f + ".err")
		code, _ := strconv.Atoi(strings.TrimSpace(string(rc)))
		if code != c.exit {
			t.Fatalf("step %d: %s\nexit status %d, the README says %d\nstdout:\n%s\nstderr:\n%s", i+1, c.text, code, c.exit, tail(string(stdout), 20), tail(string(stderr), 20))
		}
		if c.prints != "" && !hasLinePrefix(string(stdout), c.prints) {
			t.Fatalf("step %d: %s\nno line of stdout starts with %q\nstdout:\n%s\nstderr:\n%s", i+1, c.text, c.prints, tail(string(stdout), 20), tail(string(stderr), 20))
		}
		t.Logf("step %d: exit %d: %s", i+1, code, c.text)
	}
}

// walkthroughBlocks returns the ```sh blocks of the README's Walkthrough
// section, verbatim.
func walkthroughBlocks(t *testing.T, readme string) []string {
	_, section, ok := strings.Cut(readme, "\n## Walkthrough")
	if !ok {
		t.Fatal("README has no ## Walkthrough section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "\n```sh\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "\n```\n")
		if !ok {
			t.Fatal("README walkthrough: unterminated ```sh block")
		}
		blocks, section = append(blocks, block+"\n"), "\n"+after
	}
}

// walkCommand is one command of a walkthrough block, with the
// expectations of its trailing comment.
type walkCommand struct {
	text   string // as written, continuation lines included
	exit   int    // `exit N` in the trailing comment; 0 without
	prints string // `prints "TEXT"` in the trailing comment
}

var (
	exitRE   = regexp.MustCompile(`\bexit (\d+)\b`)
	printsRE = regexp.MustCompile(`\bprints "([^"]+)"`)
)

// commands splits a block into commands: comment-only lines are dropped,
// lines ending in a backslash continue on the next, and a trailing
// comment (whitespace, #, whitespace) carries the expectations.
func commands(block string) []walkCommand {
	var out []walkCommand
	var cur []string
	for _, line := range strings.Split(block, "\n") {
		if len(cur) == 0 && (strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#")) {
			continue
		}
		cur = append(cur, line)
		if strings.HasSuffix(line, "\\") {
			continue
		}
		c := walkCommand{text: strings.Join(cur, "\n")}
		if i := strings.Index(line, " # "); i >= 0 {
			comment := line[i:]
			if m := exitRE.FindStringSubmatch(comment); m != nil {
				c.exit, _ = strconv.Atoi(m[1])
			}
			if m := printsRE.FindStringSubmatch(comment); m != nil {
				c.prints = m[1]
			}
		}
		out = append(out, c)
		cur = nil
	}
	return out
}

func hasLinePrefix(s, prefix string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TestDemoTryLines: the commands the demo ends with ("Try: …") work as
// printed from where it ran, with no custody on PATH (make demo leaves
// bin/custody): they name the binary the demo ran as. Run in the order
// given, twice: none changes the matter so that another then fails (a
// recorded diff's checkpoint, which no witness cosigns, failed verify
// --witness), and none asks the demo's timestamp authority, which
// stopped with it.
func TestDemoTryLines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	env := append(os.Environ(), childEnv+"=1", "CUSTODY_LEDGER=", "GORACE=atexit_sleep_ms=0", "PATH=/usr/bin:/bin")
	demo := exec.Command(exe, "demo", "--dir", "d", "--conversations", "20")
	demo.Dir, demo.Env = work, env
	out, err := demo.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, tail(string(out), 20))
	}
	_, try, ok := strings.Cut(string(out), "Try:\n")
	if !ok {
		t.Fatalf("demo printed no Try: lines\n%s", tail(string(out), 20))
	}
	var lines []string
	for _, line := range strings.Split(try, "\n") {
		if cmdline, ok := strings.CutPrefix(line, "  "); ok {
			lines = append(lines, cmdline)
		}
	}
	n := len(lines)
	for pass := 1; pass <= 2; pass++ {
		for _, cmdline := range lines {
			if !strings.HasPrefix(cmdline, shellarg.Quote(exe)+" ") {
				t.Errorf("Try line %q does not name the binary the demo ran as (%s)", cmdline, exe)
			}
			c := exec.Command("bash", "-c", cmdline)
			c.Dir, c.Env = work, env
			b, err := c.CombinedOutput()
			code := c.ProcessState.ExitCode()
			// 3: the diff line finds what the demo's damaged export lacks.
			if code != 0 && !(code == 3 && strings.Contains(cmdline, " diff ")) {
				t.Errorf("pass %d: Try line %q: %v\n%s", pass, cmdline, err, tail(string(b), 10))
			}
			if strings.Contains(string(b), "no timestamp from") {
				t.Errorf("pass %d: Try line %q asked the demo's stopped timestamp authority:\n%s", pass, cmdline, tail(string(b), 10))
			}
		}
	}
	if n == 0 {
		t.Fatalf("no commands after Try:\n%s", try)
	}
	// A checkpoint signed on the matter later asks no timestamp authority
	// (the demo's is gone, and the matter names it no more).
	c := exec.Command(exe, "--ledger", filepath.Join("d", "custody.db"), "checkpoint")
	c.Dir, c.Env = work, env
	if b, err := c.CombinedOutput(); err != nil || strings.Contains(string(b), "timestamp") {
		t.Errorf("checkpoint on the demo's matter: %v\n%s", err, tail(string(b), 10))
	}
}

// TestREADMECommandsParse: every custody command in the README's other
// ```sh blocks (Give counsel a copy, …), which name paths of a real
// matter and cannot run here, at least parses: run with --help appended,
// an unknown command or flag exits 2 instead of 0.
func TestREADMECommandsParse(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(bin, "custody")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), childEnv+"=1", "CUSTODY_LEDGER=", "GORACE=atexit_sleep_ms=0")
	text := string(readme)
	if before, rest, ok := strings.Cut(text, "\n## Walkthrough"); ok {
		if _, after, ok := strings.Cut(rest, "\n## "); ok {
			text = before + "\n## " + after
		}
	}
	n := 0
	for _, block := range regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n").FindAllStringSubmatch(text, -1) {
		for _, c := range commands(block[1] + "\n") {
			line := c.text
			if i := strings.Index(line, " # "); i >= 0 && !strings.Contains(line[i:], "\n") {
				line = line[:i]
			}
			if !strings.HasPrefix(line, "custody ") {
				continue
			}
			n++
			sh := exec.Command("bash", "-c", line+" --help")
			sh.Dir, sh.Env = t.TempDir(), env
			out, err := sh.CombinedOutput()
			if err != nil {
				t.Errorf("README: %s\n--help: %v\n%s", line, err, tail(string(out), 5))
			}
		}
	}
	if n == 0 {
		t.Fatal("no custody commands found in the README outside the walkthrough")
	}
	t.Logf("%d README commands parse", n)
}
