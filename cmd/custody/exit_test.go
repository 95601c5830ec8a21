package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/custodyhq/custody/internal/matter"
)

func TestCleanChain(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"verify: ledger: verify: evidence: verify: evidence: walk /x: not a directory", "verify: ledger: evidence: walk /x: not a directory"},
		{"verify: verify: boom", "verify: boom"},
		{"export: 3 of 4 conversations not exported", "export: 3 of 4 conversations not exported"},
		{"a: b: a", "a: b: a"}, // the last segment is the cause, kept as is
		{"fetch: get /x: not found: not found", "fetch: get /x: not found: not found"},
	} {
		if got := cleanChain(tc.in); got != tc.want {
			t.Errorf("cleanChain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExitCodeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fmt.Errorf("export: list: %w", context.Canceled)
	resumable := &cobra.Command{Annotations: map[string]string{resumableAnnotation: "yes"}}
	for _, tc := range []struct {
		cmd  *cobra.Command
		want string
	}{
		{resumable, "custody: cancelled; state saved, rerun the same command to resume\n"},
		{&cobra.Command{}, "custody: cancelled\n"},
		{nil, "custody: cancelled\n"},
	} {
		var stderr bytes.Buffer
		g := &globalOptions{stderr: &stderr, LogFormat: "text"}
		if code := exitCode(ctx, tc.cmd, err, g); code != exitCancelled {
			t.Errorf("code = %d, want %d", code, exitCancelled)
		}
		if stderr.String() != tc.want {
			t.Errorf("stderr = %q, want %q", stderr.String(), tc.want)
		}
	}
}

// TestExitCodeCancelledSaying: a cancellation that recorded part of its
// work (custody hold or release cut short) exits 130 and says what was
// recorded and what is left, not only "cancelled".
func TestExitCodeCancelledSaying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := cancelledSaying(fmt.Errorf("release: cancelled: recorded as entry 7 (object lock partial: 3 of 9 objects); 6 evidence objects not changed (run the same release again to finish): %w", context.Canceled))
	var stderr bytes.Buffer
	g := &globalOptions{stderr: &stderr, LogFormat: "text"}
	if code := exitCode(ctx, &cobra.Command{}, err, g); code != exitCancelled {
		t.Errorf("code = %d, want %d", code, exitCancelled)
	}
	if want := "custody: release: cancelled: recorded as entry 7 (object lock partial: 3 of 9 objects); 6 evidence objects not changed (run the same release again to finish): context canceled\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestExitCodeJSON(t *testing.T) {
	var stderr bytes.Buffer
	g := &globalOptions{stderr: &stderr, LogFormat: "json"}
	code := exitCode(context.Background(), nil, withCode(exitFindings, errors.New("verify: verify: FAILED")), g)
	if code != exitFindings {
		t.Errorf("code = %d", code)
	}
	if n := strings.Count(stderr.String(), "\n"); n != 1 {
		t.Fatalf("want one line, got %q", stderr.String())
	}
	var rec struct {
		Level, Msg, Error string
		ExitCode          int `json:"exit_code"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Level != "ERROR" || rec.Error != "verify: FAILED" || rec.ExitCode != exitFindings || rec.Msg == "" {
		t.Errorf("record = %+v", rec)
	}
}

// TestWitnessKeyFileExit: witness serve and cosign given a key file that
// cannot be read, or holds no key, exit 1 (bad input, I/O) as every
// other command does, not 2; a flag left out is still a usage error.
func TestWitnessKeyFileExit(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--ledger", filepath.Join(dir, "custody.db"), "init", "--matter", "m"},
		{"witness", "keygen", "--name", "w.example", "--out", filepath.Join(dir, "w")},
	} {
		var stderr strings.Builder
		if c := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); c != 0 {
			t.Fatalf("%v: exit %d: %s", args, c, stderr.String())
		}
	}
	key, pub := filepath.Join(dir, "w.key"), filepath.Join(dir, "custody.pub")
	big := filepath.Join(dir, "big.key")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), matter.MaxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.key")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "locked.key")
	if err := os.WriteFile(locked, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	type keyCase struct {
		name      string
		key, logs string // "" leaves the flag out
		want      int
	}
	cases := []keyCase{
		{"missing key file", filepath.Join(dir, "nope.key"), pub, exitError},
		{"key is a folder", dir, pub, exitError},
		{"key file too large", big, pub, exitError},
		{"no key in the file", junk, pub, exitError},
		{"missing log-key file", key, filepath.Join(dir, "nope.pub"), exitError},
		{"no key in the log-key file", key, junk, exitError},
		{"no --key", "", pub, exitUsage},
		{"no --log-key", key, "", exitUsage},
	}
	// Root reads any file: permission denied is not what it would test.
	if os.Geteuid() != 0 {
		cases = append(cases, keyCase{"key file unreadable", locked, pub, exitError})
	}
	for _, sub := range []string{"serve", "cosign"} {
		for _, tc := range cases {
			t.Run(sub+"/"+tc.name, func(t *testing.T) {
				args := []string{"witness", sub, "--state", filepath.Join(dir, "state"), "--addr", "127.0.0.1:0"}
				if sub == "cosign" {
					args = []string{"witness", sub, "--state", filepath.Join(dir, "state"), "--checkpoint", filepath.Join(dir, "cp.txt")}
				}
				if tc.key != "" {
					args = append(args, "--key", tc.key)
				}
				if tc.logs != "" {
					args = append(args, "--log-key", tc.logs)
				}
				var stdout, stderr strings.Builder
				if c := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); c != tc.want {
					t.Errorf("exit %d, want %d: %s", c, tc.want, stderr.String())
				}
				if stdout.Len() > 0 {
					t.Errorf("stdout: %q (it served?)", stdout.String())
				}
			})
		}
	}
}

// TestStderrEscapes: an error or a warning carrying what an export, an
// API response or the ledger holds reaches stderr with its control
// characters (C0, C1), bidi overrides and invalid bytes escaped as the
// diff's summary shows an id ('\x1b', '\u009b', '\u202e'), in text and
// JSON logs; its own line breaks and backslashes are kept. Before, a
// hold's reason ran its escape sequences on the terminal.
func TestStderrEscapes(t *testing.T) {
	hostile := "legal\x1b[2J\x1b]0;pwn\a \u009b31m \u202edcba \xff"
	const shown = `legal\x1b[2J\x1b]0;pwn\a \u009b31m \u202edcba \xff`
	raw := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool {
			return (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || r == '\u202e' || r == '\uFFFD'
		})
	}
	for _, format := range []string{"text", "json"} {
		var stderr bytes.Buffer
		g := &globalOptions{stderr: &stderr, LogFormat: format}
		g.log = slog.New(slog.NewJSONHandler(&stderr, nil))
		exitCode(context.Background(), nil, fmt.Errorf("erase: under legal hold: c1 (matter hold: %s)", hostile), g)
		g.warn("conversation " + hostile + `: C:\x`)
		out := stderr.String()
		if raw(out) {
			t.Errorf("%s: raw control on stderr: %q", format, out)
		}
		if format == "json" {
			for line := range strings.Lines(out) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%s: %q: %v", format, line, err)
				}
				out += fmt.Sprint(rec["error"], rec["msg"]) // the decoded text, checked below
			}
		}
		for _, want := range []string{"(matter hold: " + shown + ")", "conversation " + shown + `: C:\x`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", format, want, out)
			}
		}
	}
}
