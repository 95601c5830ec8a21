package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/demo"
	"github.com/custodyhq/custody/internal/shellarg"
)

type demoOptions struct{ cfg demo.Config }

func (o *demoOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.cfg.Dir, "dir", "", "folder to write into, new or empty (default: ./custody-demo-TIMESTAMP)")
	fs.IntVar(&o.cfg.Conversations, "conversations", 400, "conversations in the simulated org")
	fs.Int64Var(&o.cfg.Seed, "seed", 1, "org seed: same seed, same story")
	fs.IntVar(&o.cfg.RateLimit, "rate-limit", 6000, "the simulator's rate limit, requests/min (Genesys: 300; higher keeps the demo short)")
	fs.StringVar(&o.cfg.Faults, "faults", "", "simulator fault spec (default: 5xx, resets, truncated bodies, 429s and a token revocation)")
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole flow against the built-in simulator (no account needed)",
		Long: `Demo starts the built-in Genesys Cloud simulator in-process (a few hundred
WhatsApp conversations, some under legal hold, faults on), then:
  1. exports ten days of conversations into a fresh ledger and evidence folder;
  2. has the simulator run a Recording API bulk export over fourteen days,
     damaged the way old exports are (no legal hold or audit fields,
     timestamps cut to seconds, messages missing or altered, files cut short);
  3. diffs that export against the ledger;
  4. refetches the gaps (one conversation was deleted upstream meanwhile);
  5. diffs again and verifies everything, evidence included;
  6. writes the report an auditor reads (report/report.html, see
     'custody report --help') and records its hash in the ledger;
and prints what happened, the report's path first among the paths of
what it wrote. The --ledger flag
is ignored: the demo makes its own ledger in --dir.

The README walks through the same steps by hand against 'custody sim serve'.

Examples:
  custody demo
  custody demo --dir /tmp/demo --conversations 100 --seed 7
  custody demo --output json > demo.json
` + exitStatus(exit0, exit1, exit2, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runDemo(ctx context.Context, o *demoOptions, g *globalOptions) error {
	if o.cfg.Dir == "" {
		o.cfg.Dir = "custody-demo-" + time.Now().UTC().Format("20060102-150405")
	}
	if o.cfg.Conversations < 10 || o.cfg.RateLimit < 1 {
		return usageError("--conversations must be at least 10 and --rate-limit positive")
	}
	o.cfg.ToolVersion, o.cfg.Log, o.cfg.Tool, o.cfg.Operator = toolVersion(), g.log, toolInfo(), osUser()
	// The closing "Try:" lines name this binary, so they work as printed
	// even when custody is not on PATH (make demo runs bin/custody).
	if exe, err := os.Executable(); err == nil {
		o.cfg.Command = shellarg.Quote(exe)
	}
	story := g.stdout
	if g.jsonOutput() {
		story = io.Discard
	}
	res, err := demo.Run(ctx, o.cfg, story)
	if g.jsonOutput() && res != nil {
		if jerr := g.writeJSON(res); jerr != nil && err == nil {
			err = jerr
		}
	}
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
