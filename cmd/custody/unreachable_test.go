//go:build unix

package main

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnreachableAPISpeaksAtOnce: against an API nothing listens on,
// export's first lines on stderr say that the request failed, which host,
// and when it is tried again — before the command gives up (ordering, not
// timing: the child is still running when the line is read, and only then
// interrupted). Ctrl-C then ends it with 130 and a clean last line.
func TestUnreachableAPISpeaksAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	ledger := filepath.Join(dir, "custody.db")
	if code, _, _ := runChild(t, "--ledger", ledger, "init", "--matter", "m"); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	cmd := exec.Command(os.Args[0], "--ledger", ledger, "export", "--api-url", "http://"+dead, "--interval", "2024-01-01/2024-01-02")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CUSTODY_LEDGER=", "GORACE=atexit_sleep_ms=0",
		"GENESYSCLOUD_OAUTHCLIENT_ID=id", "GENESYSCLOUD_OAUTHCLIENT_SECRET=very-secret-value")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var lines []string
	found := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if l := sc.Text(); strings.Contains(l, "fetch: request failed, retrying") {
			found = true
			for _, want := range []string{"level=INFO", "host=" + dead, "attempt=1/", "retry_at=", "connection refused"} {
				if !strings.Contains(l, want) {
					t.Errorf("retry line lacks %q: %s", want, l)
				}
			}
			break
		}
	}
	if !found {
		cmd.Wait()
		t.Fatalf("export ended without a retry line:\n%s", strings.Join(lines, "\n"))
	}
	if len(lines) > 3 {
		t.Errorf("%d lines before the retry line, want it among the first:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	// Still running: the line came while retrying, not at the end.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("the export had already ended: %v", err)
	}
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitCancelled {
		t.Errorf("after Ctrl-C: %v, want exit %d", err, exitCancelled)
	}
	all := strings.Join(lines, "\n")
	if last := lines[len(lines)-1]; last != "custody: cancelled; state saved, rerun the same command to resume" {
		t.Errorf("last line %q", last)
	}
	for _, l := range lines {
		if why := dirtyLine(l); why != "" {
			t.Errorf("stderr %s: %s", why, l)
		}
	}
	if strings.Contains(all, "very-secret-value") {
		t.Error("the client secret is on stderr")
	}
}
