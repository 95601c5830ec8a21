package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
