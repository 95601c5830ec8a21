package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/erase"
)

type holdOptions struct {
	Conversations []string
	Reason        string
	Key           string
	ev            evidenceOptions
}

func (o *holdOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.Conversations, "conversation", nil, "the conversation (repeatable)")
	fs.StringVar(&o.Reason, "reason", "", "why (recorded in the ledger; required)")
	fs.StringVar(&o.Key, "key", "", "signer key file, to sign a checkpoint over the entry (default: the .key file beside the ledger)")
	o.ev.AddFlags(fs, false)
}

// exit1Hold is hold's and release's line for exit 1.
const exit1Hold = `1    error (bad input such as an id not in the ledger, I/O; the message
       says which), or recorded with some objects' Object Lock legal hold
       not changed (listed; object lock "partial: N of M objects"): run it
       again to change them`

// exit130Hold is the 130 line of hold's and release's EXIT STATUS.
const exit130Hold = `130  cancelled (Ctrl-C): nothing recorded if no object's Object Lock
       legal hold had changed; else the entry is recorded, object lock
       "partial: N of M objects", and the objects not changed are listed:
       run it again to finish`

func newHoldCommand(g *globalOptions) *cobra.Command {
	o := &holdOptions{}
	cmd := &cobra.Command{
		Use:   "hold --conversation ID... --reason TEXT",
		Short: "Place a matter-level legal hold on conversations",
		Long: `Hold records a legal hold of the matter on the given conversations as a
signed "hold" entry — beyond Genesys's deletion protection, which is
capped at 1,000 conversations per org — and, when the evidence store is
S3 with Object Lock, sets the Object Lock legal hold on every evidence
object of those conversations, so that nobody can delete them. 'custody
erase' refuses a held conversation unless overridden; 'custody release'
lifts the hold. A conversation already held is held again — the ledger
keeps every request, a second matter's hold among them — and named on an
"already held" line with the entry of the hold in force (JSON:
already_held). A conversation an erasure already took ('custody erase',
whole or some of its messages) is held all the same, with a warning
naming the erasure entries and their reasons: the hold preserves
nothing that was erased (JSON: erased_conversations).

Cancelled (Ctrl-C) after some objects' legal hold was set, the hold is
recorded all the same, with object lock "partial: N of M objects", and
the objects not changed are listed: run it again to finish.

Examples:
  custody hold --conversation 2f0c1b5e-… --conversation 9a1d… --reason "litigation hold, Acme v. Smith"
` + exitStatus(exit0, exit1Hold, exit2, exit3Ledger, exit130Hold),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHold(cmd.Context(), o, g, false) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runHold(ctx context.Context, o *holdOptions, g *globalOptions, release bool) error {
	verb := map[bool]string{false: "hold", true: "release"}[release]
	if len(o.Conversations) == 0 {
		return usageError("%s: give --conversation ID", verb)
	}
	if err := noEmptyIDs(verb, o.Conversations, nil); err != nil {
		return err
	}
	if strings.TrimSpace(o.Reason) == "" { // blank is none, as erase.Hold says
		return usageError("%s: --reason is required (it is recorded in the ledger)", verb)
	}
	mo := o.ev.matterOptions()
	mo.SignerKey = o.Key
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	defer m.Close()
	store, err := evidenceStore(ctx, m)
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	req := erase.HoldRequest{Conversations: o.Conversations, Reason: o.Reason, Operator: operatorName(), Release: release}
	if key, err := m.SignerKey(); err == nil {
		req.SignerKey = key
	} else if o.Key != "" {
		return fmt.Errorf("%s: %w", verb, err)
	}
	res, err := erase.Hold(ctx, m.Ledger, store, req)
	if err != nil && ctx.Err() != nil && (res != nil || !errors.Is(err, context.Canceled)) {
		// Cancelled after some object's lock changed: exit 130, saying
		// what was recorded and what is left, not only "cancelled".
		err = cancelledSaying(err)
	}
	if err != nil && res == nil {
		return err // an id not in the ledger is bad input: exit 1, as prove, report and produce
	}
	for _, c := range res.ErasedConversations {
		g.warn(c.Warning())
	}
	if g.jsonOutput() {
		if jerr := g.writeJSON(res); jerr != nil {
			return jerr
		}
		return err
	}
	past := map[bool]string{false: "held", true: "released"}[release]
	fmt.Fprintf(g.stdout, "%-12s %s (ledger entry %d)\n", past, listOrNone(res.Detail.Conversations), res.Seq)
	for _, h := range res.AlreadyHeld {
		fmt.Fprintf(g.stdout, "already held %s since entry %d (%q): recorded again\n", h.Conversation, h.Seq, h.Reason)
	}
	for _, c := range res.NotHeld {
		fmt.Fprintf(g.stdout, "not held     %s: no matter hold was in force to lift; recorded all the same\n", c)
	}
	if res.Erased > 0 {
		fmt.Fprintf(g.stdout, "object lock  %s (%d objects; %d others an erasure deleted: nothing to hold)\n", res.Detail.ObjectLock, res.Objects, res.Erased)
	} else {
		fmt.Fprintf(g.stdout, "object lock  %s (%d objects)\n", res.Detail.ObjectLock, res.Objects)
	}
	for _, o := range res.NotChanged {
		fmt.Fprintf(g.stdout, "not changed  %s: %s\n", o.Object, o.Why)
	}
	return err
}
