package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerStopped: Ctrl-C or SIGTERM stops a server, exit 0, also when
// its graceful shutdown ran out of time (the open requests are cut, and
// stderr says so); another shutdown failure is exit 1 with its message.
// None is 130, though the command's context is done: a plain error
// returned then would read "cancelled".
func TestServerStopped(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name   string
		err    error
		late   bool
		code   int
		stderr string // in stderr, "" for nothing
		closed bool
	}{
		{"clean", nil, false, exitOK, "", false},
		{"requests still open", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), true, exitOK, "custody: warning: witness serve: stopped; requests still open 5s after Ctrl-C or SIGTERM were cut\n", true},
		// sim.Server.Shutdown cuts them itself and says nothing.
		{"cut by the server itself", nil, true, exitOK, "were cut", true},
		{"another failure", errors.New("close tcp 127.0.0.1:1: use of closed network connection"), false, exitError, "custody: witness serve: shutdown: close tcp", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			g := &globalOptions{stdout: io.Discard, stderr: &stderr}
			closed := false
			err := serverStopped(g, "witness serve", tc.err, tc.late, func() error { closed = true; return nil })
			if code := exitCode(cancelled, nil, err, g); code != tc.code {
				t.Errorf("exit %d, want %d (%v)", code, tc.code, err)
			}
			if closed != tc.closed {
				t.Errorf("closed: %v, want %v", closed, tc.closed)
			}
			if tc.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
			if strings.Contains(stderr.String(), "cancelled") {
				t.Errorf("stderr says cancelled: %q", stderr.String())
			}
		})
	}
}

// TestWitnessServeCutsOpenRequest: Ctrl-C while a request is open —
// the handler is reading a body that never comes — stops witness serve
// after the grace, exit 0, saying the request was cut (it exited 130,
// "cancelled", which its help says it does not).
func TestWitnessServeCutsOpenRequest(t *testing.T) {
	old := shutdownGrace
	shutdownGrace = 50 * time.Millisecond
	t.Cleanup(func() { shutdownGrace = old })
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
	var stderr lockedBuilder
	ready, stop := serveLineTo(t, &stderr, "witness", "serve", "--key", filepath.Join(dir, "w.key"),
		"--log-key", filepath.Join(dir, "custody.pub"), "--state", filepath.Join(dir, "ws"))
	u, err := url.Parse(ready["url"])
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server answers "100 Continue" once the handler reads the body:
	// then the request is open, whatever the timing.
	fmt.Fprintf(conn, "POST /add-checkpoint HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", u.Host)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("no 100 Continue: %q, %v", line, err)
	}
	if c := stop(); c != exitOK {
		t.Errorf("exit %d, want 0: %s", c, stderr.String())
	}
	if !strings.Contains(stderr.String(), "requests still open") || strings.Contains(stderr.String(), "cancelled") {
		t.Errorf("stderr %q: want the warning that requests were cut, and no 'cancelled'", stderr.String())
	}
}

// TestSimServeCancelledBeforeServing: Ctrl-C before sim serve served —
// while it made the org, or opened an s3:// --export-to — exits 130 and
// prints no ready line, as its help says.
func TestSimServeCancelledBeforeServing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"sim", "serve", "--conversations", "3"},
		{"sim", "serve", "--conversations", "3", "--export-to", "s3://bucket/old", "--s3-endpoint", "http://127.0.0.1:1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			if c := run(ctx, args, strings.NewReader(""), &stdout, &stderr); c != exitCancelled {
				t.Errorf("exit %d, want 130: %s", c, stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q: it printed the ready line", stdout.String())
			}
			if !strings.Contains(stderr.String(), "cancelled") {
				t.Errorf("stderr %q does not say cancelled", stderr.String())
			}
		})
	}
}
