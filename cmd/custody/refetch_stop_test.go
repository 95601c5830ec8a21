//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// TestRefetchStoppedPrintsAccounting: a refetch stopped by Ctrl-C (SIGINT)
// or SIGTERM exits 130 and, as export does, prints what it did on stdout
// first — the text says it stopped and why, and the run's accounting; the
// --output json object carries "stopped" and the run's accounting with
// status "cancelled" — deciding and recording no outcome.
func TestRefetchStoppedPrintsAccounting(t *testing.T) {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 5, Conversations: 40, Start: start, End: start.Add(8 * 24 * time.Hour)},
		JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	dir := t.TempDir()
	old := filepath.Join(dir, "old-export")
	target, err := recexport.OpenTarget(context.Background(), old, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(context.Background(), srv.Org, nil, target, recexport.DefaultProfile(recexport.ShapeGenesys, 5)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUSTODY_LEDGER", "")
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
	t.Setenv("GENESYSCLOUD_ACCESS_TOKEN", "")
	db := filepath.Join(dir, "custody.db")
	api := []string{"--api-url", srv.APIURL, "--login-url", srv.LoginURL}
	for _, c := range []struct {
		want int
		args []string
	}{
		{0, []string{"init", "--matter", "m"}},
		{0, append(api, "export", "--rate-limit", "60000", "--interval", "2024-03-01/2024-03-05")},
		{exitFindings, []string{"diff", old}},
	} {
		var o, e bytes.Buffer
		if code := run(context.Background(), append([]string{"--ledger", db}, c.args...), strings.NewReader(""), &o, &e); code != c.want {
			t.Fatalf("custody %v: exit %d, want %d\n%s%s", c.args, code, c.want, o.String(), e.String())
		}
	}
	// refetch starts a refetch paced at one request a minute, so that it
	// is still at work when signalled, and returns its exit status,
	// stdout and stderr.
	refetch := func(t *testing.T, sig os.Signal, flags ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], append(append([]string{"--ledger", db, "refetch", "--diff", "latest", "--rate-limit", "1"}, api...), flags...)...)
		cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "refetch progress") { // the run has begun
				break
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatalf("the refetch had already ended: %v\n%s", err, strings.Join(lines, "\n"))
		}
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		err = cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), strings.Join(lines, "\n")
	}

	t.Run("SIGINT text", func(t *testing.T) {
		code, out, errs := refetch(t, os.Interrupt)
		if code != exitCancelled || !strings.HasSuffix(errs, "custody: cancelled; state saved, rerun the same command to resume") {
			t.Fatalf("exit %d, stderr:\n%s", code, errs)
		}
		for _, want := range []string{"refetch of ", "  stopped: cancelled; 0 of ", " gaps decided, the others left for a rerun of the same command\n", " (cancelled): "} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "still_missing") || strings.Contains(out, "filled") {
			t.Errorf("stdout gives outcomes no stopped refetch decided:\n%s", out)
		}
	})
	t.Run("SIGTERM json", func(t *testing.T) {
		code, out, errs := refetch(t, syscall.SIGTERM, "--output", "json")
		if code != exitCancelled {
			t.Fatalf("exit %d, stderr:\n%s", code, errs)
		}
		var res reconcile.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("stdout is not the refetch object: %v\n%s", err, out)
		}
		if res.Stopped != "cancelled" || res.Gaps == 0 || len(res.Outcomes) != 0 || res.Export == nil || res.Export.Status != ledger.RunCancelled || res.Export.RunID == "" {
			t.Errorf("result %+v (export %+v): want stopped cancelled, its gaps, no outcome, the run's accounting with status cancelled", res, res.Export)
		}
	})
}
