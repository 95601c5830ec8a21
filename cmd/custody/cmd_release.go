package main

import (
	"github.com/spf13/cobra"
)

func newReleaseCommand(g *globalOptions) *cobra.Command {
	o := &holdOptions{}
	cmd := &cobra.Command{
		Use:   "release --conversation ID... --reason TEXT",
		Short: "Release a matter-level legal hold",
		Long: `Release records the end of the matter's legal hold on the given
conversations as a signed "hold" entry (action "release") and, when the
evidence store is S3 with Object Lock, lifts the Object Lock legal hold on
their evidence objects (a retention period set on the bucket still
applies). Deletion protection recorded by Genesys at capture is not
changed: 'custody erase' still needs --override-hold for it. A
conversation no matter hold is in force on is released all the same, and
named on a "not held" line (JSON: not_held).

Cancelled (Ctrl-C) after some objects' legal hold was lifted, the release
is recorded all the same, with object lock "partial: N of M objects" (the
others keep theirs), and the objects not changed are listed: run it again
to finish.

Examples:
  custody release --conversation 2f0c1b5e-… --reason "matter settled, counsel ticket LGL-80"
` + exitStatus(exit0, exit1Hold, exit2, exit3Ledger, exit130Hold),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHold(cmd.Context(), o, g, true) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
