package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
)

type checkpointOptions struct {
	Key string
	Out string
}

func (o *checkpointOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Key, "key", "", "signer key file (default: the .key file beside the ledger)")
	fs.StringVar(&o.Out, "out", "", "also write the signed checkpoint to this file (refuses to overwrite)")
}

func newCheckpointCommand(g *globalOptions) *cobra.Command {
	o := &checkpointOptions{}
	cmd := &cobra.Command{
		Use:   "checkpoint [--key FILE] [--out FILE]",
		Short: "Sign and store a checkpoint of the ledger",
		Long: `Checkpoint signs the ledger's current size and Merkle root as a C2SP
checkpoint (a signed note) with the ledger's signer key, stores it in the
ledger and prints it. Keep a copy somewhere the ledger's custodian cannot
change (counsel's file, a ticket, an email): 'custody verify --checkpoint
FILE' then proves the ledger still contains exactly what it signed, which
catches a truncated or rewritten ledger.

Before signing, the entries appended since the previous checkpoint are
checked (each a strict leaf — I-JSON, no member named twice, its exact
RFC 8785 bytes, a custody entry — that hashes to its stored leaf hash and
continues the chain), the previous checkpoint's root is recomputed, and
the stored checkpoint ids must run 1, 2, 3, … with none missing; a ledger
that fails any of these is not signed (exit 3, naming the first failing
seq or checkpoint). Export signs a checkpoint at the end of every
run, so this command is for ledgers changed otherwise, or for a fresh copy.

Examples:
  custody checkpoint
  custody checkpoint --out matter-42-$(date +%F).checkpoint
` + exitStatus(exit0, exit1, exit2,
			"3    the ledger contradicts itself or is damaged: nothing was signed"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCheckpoint(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCheckpoint(ctx context.Context, o *checkpointOptions, g *globalOptions) error {
	m, err := openMatter(ctx, g, matter.Options{SignerKey: o.Key})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer m.Close()
	key, err := m.SignerKey()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if o.Out != "" {
		if _, err := os.Lstat(o.Out); err == nil {
			return fmt.Errorf("checkpoint: %s already exists; refusing to overwrite it", o.Out)
		}
	}
	cp, err := m.Ledger.Checkpoint(ctx, key)
	if err != nil {
		if errors.Is(err, ledger.ErrInconsistent) {
			return fmt.Errorf("checkpoint: %w; nothing was signed (run 'custody verify' for the full list)", err)
		}
		return fmt.Errorf("checkpoint: %w", err)
	}
	if o.Out != "" {
		if err := matter.WriteNew(o.Out, cp.Note, 0o644); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if g.jsonOutput() {
		return json.NewEncoder(g.stdout).Encode(map[string]any{
			"id":     cp.ID,
			"origin": cp.Origin,
			"size":   cp.Size,
			"root":   cp.Root.String(),
			"note":   string(cp.Note),
		})
	}
	_, err = g.stdout.Write(cp.Note)
	return err
}
