package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/bench"
)

// benchVerifyOptions are the flags of 'custody bench verify'.
type benchVerifyOptions struct {
	Matter        string
	Conversations int
	Seed          int64
	Keep          string
	Runs          int
	Cold          bool
}

func (o *benchVerifyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Matter, "matter", "", "verify this matter folder (custody.db, custody.pub and evidence/ in it, as 'custody demo' leaves them) instead of exporting a fixture")
	fs.IntVar(&o.Conversations, "conversations", 2000, "conversations in the fixture's simulated org (about 80% WhatsApp)")
	fs.Int64Var(&o.Seed, "seed", 1, "org seed")
	fs.StringVar(&o.Keep, "keep", "", "export the fixture into this folder (empty or new) and keep it (default: a temp folder, removed)")
	fs.IntVar(&o.Runs, "runs", 3, "time each method this many times and report the median")
	fs.BoolVar(&o.Cold, "cold", false, "evict the matter's files from the page cache before every timed run (Linux): an auditor's first verification of a copy")
}

func newBenchVerifyCommand(g *globalOptions) *cobra.Command {
	o := &benchVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Measure 'custody verify --evidence' against reading and hashing the evidence",
		Long: `Bench verify measures the real verify command against the fastest local
read-and-hash of the same evidence objects. Without --matter it first
exports a simulated org of --conversations into a new matter (no faults,
no pacing); with --matter it verifies that folder as it is.

It then times, --runs times each, alternating:

  custody verify --evidence              this binary, as a child process:
                                         every check, objects re-hashed and
                                         leaf fields re-derived from them
  custody verify --evidence --no-derive  objects re-hashed only
  custody verify                         the ledger alone
  go sha256 ×N                           Go's crypto/sha256 over the files,
                                         one reader per processor
  sha256sum, openssl dgst -sha256        when installed, through xargs, as
                                         one process and one per processor

and prints each method's median wall time, CPU time (a child's, with its
children) and peak RSS, and its ratio to the fastest read-and-hash and to
sha256sum. Every verification must pass. Progress goes to stderr. The
machine's load changes every figure: compare ratios within one run.

By default the files are read as the page cache holds them: after the
first run, from memory, so the figures are CPU. --cold evicts the
ledger's and the evidence's file contents from the page cache before
every timed run (posix_fadvise DONTNEED after a sync; no privilege
needed, Linux only), as an auditor's first verification of a copy reads
them from disk. Directories and inodes stay cached, unlike with
'echo 3 > /proc/sys/vm/drop_caches'; on tmpfs nothing is evicted.

Examples:
  custody bench verify
  custody bench verify --conversations 500 --runs 5
  custody bench verify --matter /tmp/d --runs 3 --cold
  custody demo --dir /tmp/d && custody bench verify --matter /tmp/d --output json
` + exitStatus(exit0, exit1, exit2, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchVerify(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runBenchVerify(ctx context.Context, o *benchVerifyOptions, g *globalOptions) error {
	if o.Conversations < 1 || o.Runs < 1 {
		return usageError("--conversations and --runs must be positive")
	}
	if o.Matter != "" && o.Keep != "" {
		return usageError("--keep names where to export a fixture; --matter verifies an existing one: give one")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench verify: this binary: %w", err)
	}
	r, err := bench.RunVerify(ctx, bench.VerifyConfig{Matter: o.Matter, Conversations: o.Conversations, Seed: o.Seed,
		Dir: o.Keep, Exe: exe, Runs: o.Runs, Cold: o.Cold, Progress: g.stderr})
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		type method struct {
			Method      string  `json:"method"`
			WallSeconds float64 `json:"wall_seconds"`
			CPUSeconds  float64 `json:"cpu_seconds"`
			PeakRSS     int64   `json:"peak_rss_bytes,omitempty"`
			OverFastest float64 `json:"over_fastest_floor"`
		}
		out := struct {
			Ledger  string   `json:"ledger"`
			Files   int      `json:"evidence_objects"`
			Bytes   int64    `json:"bytes"`
			Runs    int      `json:"runs"`
			Cold    bool     `json:"cold"`
			Fastest string   `json:"fastest_floor"`
			Verify  []method `json:"verify"`
			Floor   []method `json:"floor"`
		}{Ledger: r.Ledger, Files: r.Files, Bytes: r.Bytes, Runs: len(r.AllRuns), Cold: r.Cold, Fastest: r.Fastest().Method}
		for _, v := range r.Verify {
			out.Verify = append(out.Verify, method{v.Method, v.Wall.Seconds(), v.CPU.Seconds(), v.MaxRSS, r.OverFastest(v.Wall)})
		}
		for _, f := range r.Floor {
			out.Floor = append(out.Floor, method{f.Method, f.Wall.Seconds(), f.CPU.Seconds(), 0, r.OverFastest(f.Wall)})
		}
		return g.writeJSON(out)
	}
	bench.PrintVerifyTable(g.stdout, r)
	return nil
}
