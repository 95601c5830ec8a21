package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/bench"
)

type benchOptions struct{ cfg bench.Config }

func (o *benchOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.cfg.Conversations, "conversations", 2000, "conversations in the simulated org (about 80% WhatsApp)")
	fs.IntVar(&o.cfg.RateLimit, "rate-limit", 6000, "the simulator's limit in requests per minute (Genesys: 300)")
	fs.StringVar(&o.cfg.Faults, "faults", "5xx=0.02,reset=0.005,truncate=0.005", "simulator fault spec for both methods (see docs/sim.md)")
	fs.Int64Var(&o.cfg.Seed, "seed", 1, "org seed")
	fs.IntVar(&o.cfg.Concurrency, "concurrency", 16, "custody's export workers, 1 to 64 (more hide storage latency on a busy machine)")
	fs.BoolVar(&o.cfg.SkipNaive, "skip-naive", false, "measure custody only")
	fs.IntSliceVar(&o.cfg.Clients, "clients", []int{1}, "measure custody with each of these numbers of OAuth clients (e.g. 1,2,4), each on a fresh simulator")
	fs.StringVar(&o.cfg.JSSDK, "jssdk", defaultJSSDK(), "folder holding the official Genesys JavaScript SDK's node_modules ($CUSTODY_JSSDK, else .tools/jssdk of the module); \"none\" skips the SDK row")
	fs.IntVar(&o.cfg.JSSDKWorkers, "jssdk-workers", 8, "concurrent workers of the JavaScript SDK export")
	fs.BoolVar(&o.cfg.JSSDKComplete, "jssdk-complete", true, "also run the SDK script told to lose nothing (every call retried), as a js-sdk-complete row")
}

// defaultJSSDK is $CUSTODY_JSSDK, else .tools/jssdk beside the go.mod of
// the working directory or a parent (where scripts/install-test-deps.sh
// puts it), else "".
func defaultJSSDK() string {
	if d := os.Getenv("CUSTODY_JSSDK"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".tools", "jssdk")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

const benchExportLong = `Bench export starts the built-in simulator at a fixed rate limit and, in
one run, measures custody's export and beside it the naive method custody
replaces (one request per conversation plus one per message; on 429 sleep
Retry-After, five tries, then give up). It prints requests per
conversation (listing excluded), the share of the rate budget used
(requests ÷ (limit × wall time)), 429s, conversations lost, wall time, and
the ratio naive/custody. With the defaults it takes a few minutes.

Beside the wall time it prints the physical limit: the least time the rate
limits allow for the requests made (those beyond the initial allowance, a
minute's worth per client, at the budget, plus the simulator's fixed
listing job delay), and wall/limit (1.00: as fast as the limits allow).
With --clients 1,2,4 custody runs once per number of OAuth clients, each
limited apart, and the speed-up column compares each run with the first.

When node and the official Genesys JavaScript SDK are installed (--jssdk;
scripts/install-test-deps.sh installs it), a js-sdk row follows: what an
SDK user writes (the analytics job, then per conversation the message
conversation and its messages in bulk, --jssdk-workers at once, retrying
a 429 after Retry-After at most five tries, since the SDK itself does not
retry) on a fresh simulator of the same org and faults. Its msgs lost are
the messages custody captured that it did not receive, and wall/js-sdk is
custody's wall time ÷ the SDK's. That script loses what the SDK loses (a
5xx, a reset or a truncated body costs the conversation), so it does less
than custody; a js-sdk-complete row (--jssdk-complete, on by default) runs
it again told to lose nothing, every call retried with jittered backoff,
and wall/complete compares custody with that. Without node or the SDK the
rows are left out with a note on stderr.
`

// newBenchCommand is 'custody bench': run bare, it is 'bench export' (what
// it was before there were two benchmarks).
func newBenchCommand(g *globalOptions) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure export against the naive method, diff and verify against reading and hashing their files",
		Long: `Bench runs custody's benchmarks, each against a baseline in the same run:

  custody bench export   export against the naive method, on the simulator
  custody bench diff     'custody diff' of a large folder export against
                         reading and hashing every file
  custody bench verify   'custody verify --evidence' against reading and
                         hashing every evidence object

Without a subcommand it runs 'bench export' with the flags below.

Examples:
  custody bench
  custody bench export --conversations 200 --skip-naive
  custody bench diff --messages 100000
  custody bench verify --matter ./custody-demo
` + exitStatus(exit0, exit1, exit2, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(newBenchExportCommand(g), newBenchDiffCommand(g), newBenchVerifyCommand(g))
	return cmd
}

func newBenchExportCommand(g *globalOptions) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Measure export against the naive method on the simulator",
		Long: benchExportLong + `
Examples:
  custody bench export
  custody bench export --conversations 200 --rate-limit 600 --skip-naive
  custody bench export --output json > bench.json
  custody bench export --rate-limit 300 --clients 1,2,4 --skip-naive
` + exitStatus(exit0, exit1, exit2, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runBench(ctx context.Context, o *benchOptions, g *globalOptions) error {
	if o.cfg.Conversations < 1 || o.cfg.RateLimit < 1 {
		return usageError("--conversations and --rate-limit must be positive")
	}
	for _, n := range o.cfg.Clients {
		if n < 1 || n > 64 {
			return usageError("--clients: each number of OAuth clients must be 1 to 64, not %d", n)
		}
	}
	if err := checkConcurrency(o.cfg.Concurrency); err != nil {
		return err
	}
	if o.cfg.JSSDKWorkers < 1 || o.cfg.JSSDKWorkers > 256 {
		return usageError("--jssdk-workers must be 1 to 256, not %d", o.cfg.JSSDKWorkers)
	}
	if o.cfg.JSSDK == "none" {
		o.cfg.JSSDK = ""
	} else if _, err := bench.JSSDKAvailable(o.cfg.JSSDK); err != nil {
		fmt.Fprintf(g.stderr, "note: no js-sdk row: %v\n", err)
		o.cfg.JSSDK = ""
	}
	o.cfg.Log = g.log
	// As custody export (collectLess), for every row alike: the
	// simulator the SDK rows read shares this process.
	defer collectLess(exportGCPercent, exportMemoryLimit)()
	rows, err := bench.Run(ctx, o.cfg)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		type row struct {
			bench.Row
			PerConversation float64 `json:"requests_per_conversation"`
			Budget          float64 `json:"budget_used"`
			TooManyShare    float64 `json:"share_429"`
			WallSeconds     float64 `json:"wall_seconds"`
			LimitSeconds    float64 `json:"physical_limit_seconds"`
			OverLimit       float64 `json:"wall_over_limit"`
			SpeedUp         float64 `json:"speed_up,omitempty"`
			OverJSSDK       float64 `json:"wall_over_jssdk,omitempty"`
			OverComplete    float64 `json:"wall_over_jssdk_complete,omitempty"`
		}
		var out []row
		for _, r := range rows {
			out = append(out, row{r, r.PerConversation(), r.Budget(), r.TooManyShare(), r.Wall.Seconds(),
				r.PhysicalLimit().Seconds(), r.OverLimit(), bench.SpeedUp(rows, r), bench.OverJSSDK(rows, r), bench.OverJSSDKComplete(rows, r)})
		}
		return g.writeJSON(out)
	}
	bench.PrintTable(g.stdout, o.cfg, rows)
	return nil
}

// benchDiffOptions are the flags of 'custody bench diff'.
type benchDiffOptions struct {
	Messages int
	Seed     int64
	Keep     string
	Fixture  string
	Exe      string
	Runs     int
}

func (o *benchDiffOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Messages, "messages", 1_000_000, "about how many messages the export holds")
	fs.Int64Var(&o.Seed, "seed", 1, "org and damage seed")
	fs.StringVar(&o.Keep, "keep", "", "build the ledger and export in this folder (empty or new) and keep them (default: a temp folder, removed)")
	fs.StringVar(&o.Fixture, "fixture", "", "time again the fixture a run kept with --keep in this folder, building nothing")
	fs.StringVar(&o.Exe, "exe", "", "time the diff of this custody binary (default: this one), to compare two builds on one fixture")
	fs.IntVar(&o.Runs, "runs", 1, "time the baseline and the diff this many times each and report the median")
}

func newBenchDiffCommand(g *globalOptions) *cobra.Command {
	o := &benchDiffOptions{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Measure 'custody diff' of a large folder export",
		Long: `Bench diff measures the real diff command on a large export. It builds an
org of about --messages messages with the simulator's generator, fills a
new SQLite ledger with one message entry per WhatsApp message (built as
an export builds them, of ledger format v3, each message's opening and
each conversation's bulk body stored in the evidence folder; but with no
HTTP: nothing is fetched, the bulk body is synthetic), and writes a damaged
Recording export of the whole org to a folder in the Genesys S3 layout.
Setup takes several minutes at the default size (a million openings are
written and synced), and about 7.5 GB of disk per million messages;
--fixture times a folder kept by --keep again without building.

It then times, --runs times each:

  baseline      SHA-256 of every export file, by each read-and-hash
                method here: Go's crypto/sha256 with one reader per
                processor, and sha256sum and openssl dgst -sha256 when
                installed (one process, and one per processor); the
                fastest is the floor the ratio is taken against
  all files     the same over every file the diff reads but the ledger:
                the export's and the evidence objects it opens (the
                openings of the captures it compares or reports missing,
                and the bulk bodies their attachments are read from,
                found by running the comparison once, untimed, before)
  and the ledger
                the same and the ledger's database file, which the diff
                reads too (a leaf a capture), by Go's crypto/sha256
  custody diff  this binary (or --exe), as a child process:
                custody --ledger L diff EXPORT --output jsonl --key K
                with the findings going to /dev/null

and prints messages in the export, files, findings, wall time, messages
per second, CPU time and peak RSS of the diff (the child's own VmHWM),
each baseline's wall time, rate in the same messages and CPU, and the
ratios diff/baseline (the fastest), diff/sha256sum, diff/all files and
diff/all files and the ledger.
Setup progress goes to stderr.

Examples:
  custody bench diff
  custody bench diff --messages 100000 --runs 3 --output json
  custody bench diff --keep /tmp/bench-diff    # then run custody diff by hand
  custody bench diff --fixture /tmp/bench-diff --runs 3    # time it again
  custody bench diff --fixture /tmp/bench-diff --exe ./custody-main    # another build's diff
` + exitStatus(exit0, exit1, exit2, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchDiff(cmd, o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runBenchDiff(cmd *cobra.Command, o *benchDiffOptions, g *globalOptions) error {
	ctx := cmd.Context()
	if o.Messages < 1 || o.Runs < 1 {
		return usageError("--messages and --runs must be positive")
	}
	if o.Fixture != "" && (o.Keep != "" || cmd.Flags().Changed("messages") || cmd.Flags().Changed("seed")) {
		return usageError("--fixture times a kept fixture again: --keep, --messages and --seed build one; give one or the other")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench diff: this binary: %w", err)
	}
	if o.Exe != "" {
		exe = o.Exe
	}
	r, err := bench.RunDiff(ctx, bench.DiffConfig{
		Messages: o.Messages, Seed: o.Seed, Dir: o.Keep, Fixture: o.Fixture, Exe: exe, Runs: o.Runs, Progress: g.stderr,
	})
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		out := struct {
			Captured              int         `json:"captured"`
			Conversations         int         `json:"whatsapp_conversations"`
			ExportMessages        int         `json:"export_messages"`
			Files                 int         `json:"files"`
			Bytes                 int64       `json:"bytes"`
			Findings              int         `json:"findings"`
			Runs                  int         `json:"runs"`
			DiffWallSeconds       float64     `json:"diff_wall_seconds"`
			DiffMessagesPerSecond float64     `json:"diff_messages_per_second"`
			DiffCPUSeconds        float64     `json:"diff_cpu_seconds"`
			DiffPeakRSSBytes      int64       `json:"diff_peak_rss_bytes"`
			BaseMethod            string      `json:"baseline_method"`
			BaseWallSeconds       float64     `json:"baseline_wall_seconds"`
			BaseMessagesPerSecond float64     `json:"baseline_messages_per_second"`
			Ratio                 float64     `json:"diff_over_baseline"`
			LedgerFillSeconds     float64     `json:"setup_ledger_seconds"`
			ExportSeconds         float64     `json:"setup_export_seconds"`
			AllDiffWallSeconds    []float64   `json:"diff_wall_seconds_all"`
			AllBaseWallSeconds    []float64   `json:"baseline_wall_seconds_all"`
			AllDiffPeakRSSBytes   []int64     `json:"diff_peak_rss_bytes_all"`
			Floor                 []floorJSON `json:"baselines"`
			Reads                 int         `json:"evidence_objects_read"`
			ReadsBytes            int64       `json:"evidence_bytes_read"`
			FullMethod            string      `json:"all_files_baseline_method"`
			FullWallSeconds       float64     `json:"all_files_baseline_wall_seconds"`
			FullRatio             float64     `json:"diff_over_all_files_baseline"`
			FullFloor             []floorJSON `json:"all_files_baselines"`
			LedgerFloor           floorJSON   `json:"all_files_and_ledger_baseline"`
			LedgerRatio           float64     `json:"diff_over_all_files_and_ledger_baseline"`
		}{
			Captured: r.Fixture.Captured, Conversations: r.Fixture.Conversations,
			ExportMessages: r.Diff.Messages, Files: r.Diff.Files, Bytes: r.Baseline.Bytes, Findings: r.Diff.Findings,
			Runs: len(r.Runs), DiffWallSeconds: r.Diff.Wall.Seconds(), DiffMessagesPerSecond: r.MessagesPerSecond(),
			DiffCPUSeconds: (r.Diff.UserCPU + r.Diff.SysCPU).Seconds(), DiffPeakRSSBytes: r.Diff.MaxRSS,
			BaseMethod: r.Baseline.Method, BaseWallSeconds: r.Baseline.Wall.Seconds(), BaseMessagesPerSecond: r.BaselinePerSecond(), Ratio: r.Ratio(),
			LedgerFillSeconds: r.Fixture.LedgerFill.Seconds(), ExportSeconds: r.Fixture.ExportTime.Seconds(),
			Reads: r.Reads, ReadsBytes: r.ReadsBytes,
			FullMethod: r.FullBaseline.Method, FullWallSeconds: r.FullBaseline.Wall.Seconds(), FullRatio: r.FullRatio(),
			LedgerFloor: floorJSON{r.Ledger.Method, r.Ledger.Wall.Seconds(), r.Ledger.CPU.Seconds()}, LedgerRatio: r.LedgerRatio(),
		}
		for _, d := range r.Runs {
			out.AllDiffWallSeconds = append(out.AllDiffWallSeconds, d.Wall.Seconds())
			out.AllDiffPeakRSSBytes = append(out.AllDiffPeakRSSBytes, d.MaxRSS)
		}
		for _, b := range r.Baselines {
			out.AllBaseWallSeconds = append(out.AllBaseWallSeconds, b.Wall.Seconds())
		}
		for _, f := range r.Floor {
			out.Floor = append(out.Floor, floorJSON{f.Method, f.Wall.Seconds(), f.CPU.Seconds()})
		}
		for _, f := range r.FullFloor {
			out.FullFloor = append(out.FullFloor, floorJSON{f.Method, f.Wall.Seconds(), f.CPU.Seconds()})
		}
		return g.writeJSON(out)
	}
	bench.PrintDiffTable(g.stdout, r)
	return nil
}

// floorJSON is one read-and-hash baseline in --output json.
type floorJSON struct {
	Method      string  `json:"method"`
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}
