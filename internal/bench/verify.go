package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
)

// VerifyConfig of a verify benchmark.
type VerifyConfig struct {
	// Matter is an existing matter folder to verify (custody.db and an
	// evidence folder in it, as 'custody demo' leaves them). Empty: a
	// fixture is exported from the simulator into Dir first.
	Matter string
	// Conversations and Seed size the fixture's org.
	Conversations int
	Seed          int64
	// Dir is the fixture's work folder, new or empty; empty: a temp
	// folder, removed afterwards.
	Dir string
	// Exe is the custody binary verify runs as, a child process.
	Exe string
	// Runs is how many times each method is timed (alternating); 0 means 1.
	Runs int
	// Cold evicts the matter's files from the page cache (Evict) before
	// every timed run: the first verification of a copy, not a repeat.
	Cold bool
	// Progress receives one line per phase; nil: none.
	Progress io.Writer
}

// VerifyRun is one run of `custody verify` as a child process.
type VerifyRun struct {
	Method string // which verify: "verify --evidence", "verify --evidence --no-derive", "verify"
	Wall   time.Duration
	CPU    time.Duration
	MaxRSS int64
}

// VerifyReport is a verify benchmark's result: medians over the runs.
type VerifyReport struct {
	Ledger   string
	Evidence string
	Files    int   // evidence objects (files under the store's sha256/)
	Bytes    int64 // their size
	Verify   []VerifyRun
	Floor    []FloorRun
	AllRuns  [][]VerifyRun
	AllFloor [][]FloorRun
	Cold     bool // the files were evicted from the page cache before each run
}

// verifyMethods are the verifications timed: the full one, the re-hash
// without re-derivation, and the ledger alone (what --evidence adds is
// the difference).
var verifyMethods = []struct {
	name string
	args []string
}{
	{"verify --evidence", []string{"--evidence"}},
	{"verify --evidence --no-derive", []string{"--evidence", "--no-derive"}},
	{"verify (ledger only)", nil},
}

// RunVerify prepares (or finds) the matter, then times each verification
// and each read-and-hash floor Runs times, alternating.
func RunVerify(ctx context.Context, cfg VerifyConfig) (*VerifyReport, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	dir := cfg.Matter
	if dir == "" {
		dir = cfg.Dir
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "custody-bench-verify-"); err != nil {
				return nil, fmt.Errorf("bench: verify: %w", err)
			}
			defer os.RemoveAll(dir)
		} else if err := emptyDir(dir); err != nil {
			return nil, err
		}
		if err := exportFixture(ctx, dir, cfg); err != nil {
			return nil, err
		}
	}
	r := &VerifyReport{Ledger: filepath.Join(dir, "custody.db"), Evidence: filepath.Join(dir, "evidence")}
	for _, p := range []string{r.Ledger, r.Evidence} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("bench: verify: the matter folder holds no %s: %w", filepath.Base(p), err)
		}
	}
	files, size, err := Files(filepath.Join(r.Evidence, evidence.Dir))
	if err != nil {
		return nil, err
	}
	r.Files, r.Bytes, r.Cold = len(files), size, cfg.Cold
	// cool evicts every file a method reads, when the runs are cold.
	matterFiles := append([]string{r.Ledger, r.Ledger + "-wal"}, files...)
	cool := func() error {
		if !cfg.Cold {
			return nil
		}
		return Evict(matterFiles)
	}
	methods := floorMethods()
	for i := range cfg.Runs {
		var vs []VerifyRun
		for _, m := range verifyMethods {
			vprogress(cfg.Progress, "run %d/%d: custody %s", i+1, cfg.Runs, m.name)
			if err := cool(); err != nil {
				return nil, err
			}
			v, err := runVerifyCommand(ctx, cfg.Exe, r, m.args)
			if err != nil {
				return nil, err
			}
			v.Method = m.name
			vs = append(vs, v)
		}
		r.AllRuns = append(r.AllRuns, vs)
		var fs []FloorRun
		for _, m := range methods {
			vprogress(cfg.Progress, "run %d/%d: %s over %d files", i+1, cfg.Runs, m.name, len(files))
			if err := cool(); err != nil {
				return nil, err
			}
			f, err := m.run(ctx, files)
			if err != nil {
				return nil, err
			}
			fs = append(fs, f)
		}
		r.AllFloor = append(r.AllFloor, fs)
	}
	for m := range verifyMethods {
		var ws []VerifyRun
		for _, rs := range r.AllRuns {
			ws = append(ws, rs[m])
		}
		slices.SortFunc(ws, func(a, b VerifyRun) int { return cmpDuration(a.Wall, b.Wall) })
		r.Verify = append(r.Verify, ws[len(ws)/2])
	}
	r.Floor = medianFloor(r.AllFloor)
	return r, nil
}

func vprogress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "bench verify: "+format+"\n", args...)
	}
}

// runVerifyCommand runs `EXE --ledger L verify [args…] --key PUB` with
// --evidence naming the store; every check must hold (exit 0).
func runVerifyCommand(ctx context.Context, exe string, r *VerifyReport, args []string) (VerifyRun, error) {
	var v VerifyRun
	full := []string{"--ledger", r.Ledger, "verify", "--key", r.Ledger[:len(r.Ledger)-len(".db")] + ".pub"}
	for _, a := range args {
		full = append(full, a)
		if a == "--evidence" {
			full = append(full, r.Evidence)
		}
	}
	var stderr tailBuffer
	cmd := exec.CommandContext(ctx, exe, full...)
	cmd.Stderr = &stderr // stdout: nil is /dev/null
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return v, fmt.Errorf("bench: verify: %s: %w", exe, err)
	}
	peak := watchPeak(cmd.Process.Pid)
	err := cmd.Wait()
	v.Wall = time.Since(t0)
	v.MaxRSS = peak()
	if err != nil {
		return v, fmt.Errorf("bench: verify: %s %v: %w\n%s", exe, full, err, stderr.String())
	}
	v.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if v.MaxRSS == 0 {
		v.MaxRSS = maxRSS(cmd.ProcessState)
	}
	return v, nil
}

// exportFixture exports a simulated org into dir/custody.db and
// dir/evidence (no faults, a limit high enough not to pace) and signs a
// checkpoint; the verifier key goes to dir/custody.pub.
func exportFixture(ctx context.Context, dir string, cfg VerifyConfig) error {
	if cfg.Conversations < 1 {
		return fmt.Errorf("bench: verify: conversations must be positive, not %d", cfg.Conversations)
	}
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 14)
	const limit = 1_000_000
	srv, err := sim.Start(ctx, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: cfg.Seed, Conversations: cfg.Conversations, Start: start, End: end, LegalHoldShare: 0.1, OtherMediaShare: 0.2},
		RateLimit: limit, JobDelay: 50 * time.Millisecond, AuditDelay: 50 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "bench-verify", ledger.Options{})
	if err != nil {
		return err
	}
	defer l.Close()
	if err := os.WriteFile(filepath.Join(dir, "custody.pub"), []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		return fmt.Errorf("bench: verify: %w", err)
	}
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	client, err := fetch.New(fetch.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIURL: srv.APIURL, LoginURL: srv.LoginURL, Rate: limit})
	if err != nil {
		return err
	}
	vprogress(cfg.Progress, "exporting %d simulated conversations into %s", cfg.Conversations, dir)
	acct, err := export.Run(ctx, export.Deps{Client: client, Ledger: l, Evidence: store}, export.Options{
		Scope: export.Scope{Matter: "bench-verify", Interval: start.Format(time.RFC3339) + "/" + end.Add(96*time.Hour).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp"},
		Concurrency: 16, SignerKey: key,
	})
	if err != nil {
		return fmt.Errorf("bench: verify: export: %w", err)
	}
	if acct.Exported != acct.Listed {
		return fmt.Errorf("bench: verify: export captured %d of %d conversations", acct.Exported, acct.Listed)
	}
	return errors.Join(l.Close(), store.Close())
}

// PrintVerifyTable writes the report: each verification and each floor
// method, with ratios to the fastest floor and to sha256sum.
func PrintVerifyTable(w io.Writer, r *VerifyReport) {
	cache := "page cache as it was"
	if r.Cold {
		cache = "files evicted from the page cache before each run"
	}
	fmt.Fprintf(w, "verify benchmark: %s, %d evidence objects, %.1f MB; median of %d run(s); %s\n\n", r.Ledger, r.Files, float64(r.Bytes)/1e6, len(r.AllRuns), cache)
	best := fastest(r.Floor)
	sum, hasSum := byMethod(r.Floor, "sha256sum")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\twall\tCPU\tpeak RSS\t÷ fastest floor\t÷ sha256sum\t")
	rel := func(d time.Duration) (string, string) {
		a, b := fmt.Sprintf("%.2fx", ratio(d, best.Wall)), "-"
		if hasSum {
			b = fmt.Sprintf("%.2fx", ratio(d, sum.Wall))
		}
		return a, b
	}
	for _, v := range r.Verify {
		a, b := rel(v.Wall)
		fmt.Fprintf(tw, "custody %s\t%s\t%s\t%.0f MiB\t%s\t%s\t\n", v.Method, v.Wall.Round(time.Millisecond), v.CPU.Round(time.Millisecond), float64(v.MaxRSS)/(1<<20), a, b)
	}
	for _, f := range r.Floor {
		a, b := rel(f.Wall)
		fmt.Fprintf(tw, "%s\t%s\t%s\t\t%s\t%s\t\n", f.Method, f.Wall.Round(time.Millisecond), f.CPU.Round(time.Millisecond), a, b)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nfastest floor: %s\n", best.Method)
}

// Fastest is the fastest read-and-hash method's median run.
func (r *VerifyReport) Fastest() FloorRun { return fastest(r.Floor) }

// OverFastest is d over the fastest read-and-hash's median wall time.
func (r *VerifyReport) OverFastest(d time.Duration) float64 { return ratio(d, r.Fastest().Wall) }
