package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// crashHelperEnv makes the test binary act as an exporting process that the
// crash campaign kills with SIGKILL.
const crashHelperEnv = "CUSTODY_EXPORT_CRASH_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		os.Exit(crashHelper())
	}
	os.Exit(m.Run())
}

// crashHelper runs one export with the settings passed in the environment.
func crashHelper() int {
	get := func(k string) string { return os.Getenv("CRASH_" + k) }
	ctx := context.Background()
	l, err := ledger.Open(ctx, get("LEDGER"), ledger.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Close()
	st, err := backends.Open(ctx, get("EVIDENCE"), evidence.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := fetch.New(fetch.Config{ClientID: get("ID"), ClientSecret: get("SECRET"), APIURL: get("URL"), LoginURL: get("LOGIN"), Rate: 600,
		// Paced from the first request at 10 a second, a whole export of
		// the 60 conversations takes about 12 s: the campaign's kills (up to
		// 1.5 s apart) land mid-capture in most runs. At 100 a second the
		// export was done by the second run, and the other kills struck
		// runs with nothing left to capture.
		Burst:   1,
		Backoff: func(int) time.Duration { return time.Millisecond }, PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	key, _ := os.ReadFile(get("KEY"))
	acct, err := export.Run(ctx, export.Deps{Client: c, Ledger: l, Evidence: st},
		export.Options{Scope: intervalScope(), SignerKey: string(key), Concurrency: 4})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !acct.Complete() {
		fmt.Fprintf(os.Stderr, "incomplete: %+v\n", acct)
		return 3
	}
	return 0
}

// TestExportCrashCampaign kills the exporting process at random points
// (SIGKILL: no deferred cleanup, no flush), reruns it each time, and then
// checks that the ledger verifies and every conversation and message was
// captured exactly once: nothing lost, nothing duplicated.
func TestExportCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("crash campaign skipped in -short mode")
	}
	const kills = 22
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 60, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
		// The default faults, so that kills also land while a request is
		// retried after a 5xx, a reset or a truncated body.
		Faults: "5xx=0.02,reset=0.005,truncate=0.005",
	})
	dir := t.TempDir()
	ctx := context.Background()
	ledgerPath := filepath.Join(dir, "custody.db")
	l, key, err := ledger.Create(ctx, ledgerPath, "matter-1", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	keyPath := filepath.Join(dir, "custody.key")
	if err := os.WriteFile(keyPath, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	envv := append(os.Environ(), crashHelperEnv+"=1",
		"CRASH_LEDGER="+ledgerPath, "CRASH_EVIDENCE="+filepath.Join(dir, "evidence"), "CRASH_KEY="+keyPath,
		"CRASH_ID="+srv.ClientID, "CRASH_SECRET="+srv.ClientSecret, "CRASH_URL="+srv.APIURL, "CRASH_LOGIN="+srv.LoginURL)
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = envv
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	rng := rand.New(rand.NewPCG(benchutil.CrashSeed(t), 2))
	killed := 0
	for i := 0; killed < kills && i < 3*kills; i++ {
		cmd, out := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		delay := time.Duration(30+rng.IntN(1500)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("export run %d failed on its own: %v\n%s", i, err, out)
			}
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
	}
	if killed < kills {
		t.Fatalf("only %d kills landed", killed)
	}
	cmd, out := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final export: %v\n%s", err, out)
	}
	t.Logf("%d kills, then a clean run", killed)

	l, err = ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkCaptured(t, &env{srv: srv, ledger: l, store: st, key: key, dir: dir})

	// The kills must have landed inside runs, not only between them, and
	// inside capture: runs resumed before the first run ended (the export
	// complete) interrupted a capture, the later ones only a rerun with
	// nothing left to capture.
	resumes, midCapture, ended := 0, 0, false
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindRun}) {
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(string(e.Detail), `"event":"resume"`):
			resumes++
			if !ended {
				midCapture++
			}
		case strings.Contains(string(e.Detail), `"event":"end"`):
			ended = true
		}
	}
	t.Logf("%d runs resumed after a kill, %d of them before the export was complete", resumes, midCapture)
	if midCapture < kills/2 {
		t.Errorf("only %d of %d kills interrupted a capture", midCapture, kills)
	}
	checkEndsCountLedger(t, l)
}

// checkEndsCountLedger: the accounting each run's last closing entry
// records counts every message entry of the run, those appended by its
// invocations killed before they could record anything included.
func checkEndsCountLedger(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	recorded := map[string]int{}
	messages := map[string]int{}
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case leaf.KindMessage:
			messages[e.RunID]++
		case leaf.KindRun:
			d, err := leaf.DecodeDetail(e.Kind, e.Detail)
			if err != nil {
				t.Fatal(err)
			}
			if rd := d.(*leaf.RunDetail); rd.Event == leaf.RunEnd {
				var a export.Accounting
				if err := json.Unmarshal(rd.Accounting, &a); err != nil {
					t.Fatal(err)
				}
				recorded[e.RunID] = a.MessagesAppended
			}
		}
	}
	if len(recorded) == 0 {
		t.Fatal("no run recorded its end")
	}
	for run, n := range recorded {
		if n != messages[run] {
			t.Errorf("run %s records %d messages appended; the ledger holds %d under its id", run, n, messages[run])
		}
	}
}
