package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/matter"
)

func newMatterCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "matter",
		Short: "Change how a matter is set up",
		Long: `Commands that change a matter's setup rather than its ledger.

Examples:
  custody matter set-evidence s3://acme-evidence/matter-42
` + exitStatus(exit0, exit2),
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newMatterSetEvidenceCommand(g))
	return cmd
}

type setEvidenceOptions struct {
	backends *evidence.Registry
}

func (o *setEvidenceOptions) AddFlags(fs *pflag.FlagSet) {
	o.backends = backends.New()
	o.backends.AddFlags(fs)
}

func newMatterSetEvidenceCommand(g *globalOptions) *cobra.Command {
	o := &setEvidenceOptions{}
	cmd := &cobra.Command{
		Use:   "set-evidence LOC",
		Short: "Point the matter at its evidence store (a folder, file://DIR or s3://bucket/prefix)",
		Long: `Set-evidence records LOC as the matter's evidence store. The first command
that writes evidence (export, diff, refetch) records the store it was given,
and later writers refuse any other so that evidence is never split; when
that first run named the wrong store — a typo, a test bucket — and failed,
this is how to correct it.

LOC must open (an S3 bucket must exist and be reachable), and every
evidence object the ledger's entries already name must be at LOC: a matter
whose evidence was written elsewhere is refused until that evidence has
been copied there (every file under the old store, checkpoints/ included;
e.g. 'aws s3 sync' or 'rsync -a'). The objects custody erase deleted are
the exception: LOC need not hold those that 'custody verify --evidence'
counts as erased (an erasure entry lists them and a checkpoint signed for
it vouches for it; see 'custody erase --help'). Nothing is moved, deleted
or appended to the ledger: evidence is addressed by its SHA-256, and
verify re-hashes it wherever it is. A folder inside the matter is
recorded relative to it.

Examples:
  custody matter set-evidence ./evidence
  custody matter set-evidence s3://acme-evidence/matter-42 --s3-region eu-west-1
  custody --ledger /data/m42/custody.db matter set-evidence /mnt/evidence/m42 --output json
` + exitStatus(
			"0    LOC is now the matter's evidence store (or already was)",
			`1    error: LOC cannot be opened, or it lacks evidence objects the
       ledger names that no erasure deleted (the message says how many,
       and where to copy from)`,
			exit2, exit3Ledger, "130  cancelled (Ctrl-C) while the objects are looked for: nothing is changed"),
		Args:        oneArg("LOC (the evidence store's folder or s3://bucket/prefix)"),
		Annotations: map[string]string{outputsAnnotation: "text,json"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSetEvidence(cmd.Context(), args[0], o, g)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runSetEvidence(ctx context.Context, loc string, o *setEvidenceOptions, g *globalOptions) error {
	if loc == "" {
		return usageError("set-evidence: LOC is empty: give a folder, file://DIR or s3://bucket/prefix")
	}
	if err := badS3Location(loc); err != nil {
		return usageError("set-evidence: LOC %s: %v", loc, err)
	}
	m, err := openMatter(ctx, g, matter.Options{Backends: o.backends})
	if err != nil {
		return err
	}
	defer m.Close()
	r, err := m.SetEvidence(ctx, loc)
	if err != nil {
		if errors.Is(err, evidence.ErrBadLocation) {
			return withCode(exitUsage, err)
		}
		return matterError(err)
	}
	if g.jsonOutput() {
		return g.writeJSON(r)
	}
	there := fmt.Sprintf("%d evidence objects referenced, all there", r.Referenced)
	if r.Erased > 0 {
		// Deleted by custody erase: absent from every store, and verify
		// --evidence counts them erased, not missing.
		there = fmt.Sprintf("%d evidence objects referenced, all there but the %d erased", r.Referenced, r.Erased)
	}
	switch {
	case !r.Changed:
		fmt.Fprintf(g.stdout, "evidence store unchanged: %s (%s)\n", r.To, there)
	case r.From == "":
		fmt.Fprintf(g.stdout, "evidence store set: %s (%s)\n", r.To, there)
	default:
		fmt.Fprintf(g.stdout, "evidence store set: %s (was %s; %s)\n", r.To, r.From, there)
	}
	return nil
}
