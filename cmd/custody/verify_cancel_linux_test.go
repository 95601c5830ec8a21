package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVerifyReportCancelledWhileHashing: a Ctrl-C that comes while
// verify --report hashes the report file, once the ledger pass is done,
// ends as every cancelled command does: exit 130, "custody: cancelled"
// (review-commits5 H1). Before, the hash went on to the end and verify
// returned no error: exit 0, nothing printed, read by a script as
// "every check holds". The cancel is given when the file's offset shows
// the hash begun (/proc/self/fdinfo), not after a guessed delay.
func TestVerifyReportCancelledWhileHashing(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "custody.db")
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"--ledger", ledger, "init", "--matter", "Acme v. Example"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr.String())
	}
	// 4 GiB, sparse: seconds to hash, far longer than the poll below
	// takes to see the hash begin.
	big := filepath.Join(dir, "big.html")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if big, err = filepath.EvalSymlinks(big); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		// Cancel once the report file is read from: the ledger pass is
		// over (the file is opened before it, read only after).
		for {
			select {
			case <-done:
				return
			default:
			}
			if readFrom(big) {
				cancel()
				return
			}
			time.Sleep(time.Millisecond) // a poll interval, not a guess at timing
		}
	}()
	stdout.Reset()
	stderr.Reset()
	start := time.Now()
	code := run(ctx, []string{"--ledger", ledger, "verify", "--report", big}, strings.NewReader(""), &stdout, &stderr)
	close(done)
	if ctx.Err() == nil {
		t.Fatalf("verify ended (exit %d, stderr %q) before its hash was seen to begin: nothing was cancelled", code, stderr.String())
	}
	if code != exitCancelled || stderr.String() != "custody: cancelled\n" {
		t.Errorf("cancelled while hashing: exit %d after %v, stdout %q, stderr %q; want exit %d, %q",
			code, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String(), exitCancelled, "custody: cancelled\n")
	}
}

// readFrom reports whether this process holds name open at an offset
// past its start.
func readFrom(name string) bool {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err != nil || target != name {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + fd.Name())
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(info)) {
			if v, ok := strings.CutPrefix(line, "pos:"); ok {
				if pos, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && pos > 0 {
					return true
				}
			}
		}
	}
	return false
}
