package main

import (
	"context"
	"encoding/json"

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
	fs.IntVar(&o.cfg.Concurrency, "concurrency", 4, "custody's export workers")
	fs.BoolVar(&o.cfg.SkipNaive, "skip-naive", false, "measure custody only")
}

func newBenchCommand(g *globalOptions) *cobra.Command {
	o := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure export against the naive method on the simulator",
		Long: `Bench starts the built-in simulator at a fixed rate limit and, in one run,
measures custody's export and beside it the naive method custody replaces
(one request per conversation plus one per message; on 429 sleep
Retry-After, five tries, then give up). It prints requests per
conversation (listing excluded), the share of the rate budget used
(requests ÷ (limit × wall time)), 429s, conversations lost, wall time, and
the ratio naive/custody. With the defaults it takes a few minutes.
` + exitStatusHelp,
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
	o.cfg.Log = g.log
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
		}
		var out []row
		for _, r := range rows {
			out = append(out, row{r, r.PerConversation(), r.Budget(), r.TooManyShare(), r.Wall.Seconds()})
		}
		return json.NewEncoder(g.stdout).Encode(out)
	}
	bench.PrintTable(g.stdout, o.cfg, rows)
	return nil
}
