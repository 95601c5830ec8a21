package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/memlimit"
	"github.com/custodyhq/custody/internal/produce"
)

type produceOptions struct {
	Format        string
	Out           string
	Conversations []string
	Interval      string
	LegalHoldOnly bool
	Diff          string
	Prefix        string
	Start         int
	Digits        int
	Custodian     string
	SplitEvents   int
	ValidateRSMF  bool
	Key           string
	ev            evidenceOptions // the matter's store; --s3-* reach an S3 one
}

func (o *produceOptions) AddFlags(fs *pflag.FlagSet) {
	o.ev.AddFlags(fs, true)
	fs.StringVar(&o.Format, "format", produce.FormatRSMF, "what to produce: rsmf (one RSMF 2.0 file per conversation), dat (a Concordance DAT/OPT load file with natives) or both")
	fs.StringVar(&o.Out, "out", "", "the production folder: new, or empty (required)")
	fs.StringSliceVar(&o.Conversations, "conversation", nil, "produce only this conversation (repeatable, or comma-separated)")
	fs.StringVar(&o.Interval, "interval", "", "produce only the messages sent in START/END (dates or RFC 3339, END exclusive)")
	fs.BoolVar(&o.LegalHoldOnly, "legal-hold-only", false, "produce only the conversations under legal hold: deletion protection when last captured, or a matter hold (custody hold) not released")
	fs.StringVar(&o.Diff, "diff", "", "produce only the conversations a recorded diff has findings in (its run id, or latest)")
	fs.StringVar(&o.Prefix, "prefix", "CUST", "DAT control number prefix")
	fs.IntVar(&o.Start, "start", 1, "first DAT control number")
	fs.IntVar(&o.Digits, "digits", 7, "digits of the DAT control number after the prefix")
	fs.StringVar(&o.Custodian, "custodian", "", "the custodian named in the RSMF headers and the DAT (default: the matter's name)")
	fs.IntVar(&o.SplitEvents, "split-events", produce.DefaultSplitEvents, "a conversation with more messages than this gets one RSMF file per UTC day")
	fs.BoolVar(&o.ValidateRSMF, "validate-rsmf", false, "also validate every rsmf_manifest.json against Relativity's RSMF 2.0.0 JSON schema before writing it (slower; the same rules are always checked)")
	fs.StringVar(&o.Key, "key", "", "signer key file (default: the .key file beside the ledger)")
}

func newProduceCommand(g *globalOptions) *cobra.Command {
	o := &produceOptions{}
	cmd := &cobra.Command{
		Use:   "produce --out DIR [--format rsmf|dat|both] [--conversation ID]... [--interval START/END] [--legal-hold-only] [--diff RUN_ID]",
		Short: "Produce conversations for a review platform (RSMF 2.0, DAT/OPT), each message with its proof",
		Long: `Produce writes the selected conversations, as the ledger's evidence holds
them, for a review platform: RSMF 2.0 files (Relativity Short Message
Format: one per conversation, one per UTC day for a conversation longer
than --split-events), a Concordance DAT/OPT load file with a native per
message and attachment, or both.

Every message carries its ledger seq, leaf hash, payload hash, evidence
key and checkpoint (in the RSMF event's custom fields and the DAT's
columns), and the production holds a proof file per message, the signed
checkpoint they lead to, the verifier key and a manifest listing every
file with its SHA-256. The manifest's hash is recorded in the ledger as a
production entry and a checkpoint is signed over it, so the production
itself is in the chain of custody. Anyone can check it:
  custody verify --production DIR --key custody.pub

A message changed or deleted at the source after custody captured it is
produced from its latest capture and, beside it, from each earlier
capture with other content: its own DAT native, text, attachments and
proof (CAPTURE, EARLIER_CAPTURE_* columns), and the earlier text in the
RSMF event's edits.

The selection narrows with each flag given: --conversation, --interval,
--legal-hold-only, --diff; none produces every captured message. A
conversation is under legal hold when it was under deletion protection when
last captured or a matter hold (custody hold) not released covers it, as
the report and erase hold it; the manifest, RSMF and DAT say which. The
same selection on the same ledger gives byte-identical files (only
production.proof.json, the proof of each production's own entry, differs).

Nothing is written, to the folder or the ledger, when the selection names
a conversation the ledger does not have, selects nothing, or the folder
is not empty, or is a symbolic link or a mount point (an empty drive or
share: give a new folder inside it).

A production is built in a hidden folder beside --out and renamed onto it
once recorded. Run again after a run was stopped (kill -9, power loss)
between recording the production and putting it in place, the same
produce finishes that production (checkpoint, proof, rename) and records
nothing new; hidden folders of this matter that were never recorded are
removed. It says what it did.

Examples:
  custody produce --out prod-001 --format both
  custody produce --out hold --legal-hold-only --format rsmf
  custody produce --out gaps --diff latest --format dat --prefix ACME --start 1001
  custody produce --out one --conversation 4f1c… --interval 2024-01-01/2024-02-01
` + exitStatus(exit0,
			`1    error: an unknown or erased conversation, an empty selection, an output
       folder that is not empty or that another produce is writing into,
       evidence missing or not what the ledger says; nothing was written`,
			exit2,
			"3    the ledger contradicts itself or is damaged: nothing was produced",
			exit130),
		Args:        cobra.NoArgs,
		Annotations: map[string]string{formatsAnnotation: "rsmf,dat,both"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return runProduce(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// produceMemoryLimit is produce's soft limit on Go's memory (see
// docs/benchmarks.md: 100,000 messages hold about 130 MB live).
const produceMemoryLimit = 160 << 20

func runProduce(ctx context.Context, o *produceOptions, g *globalOptions) error {
	switch o.Format {
	case produce.FormatRSMF, produce.FormatDAT, produce.FormatBoth:
	default:
		return usageError("produce: --format %q: want rsmf, dat or both", o.Format)
	}
	if o.Out == "" {
		return usageError("produce: --out DIR is required")
	}
	if o.Start < 1 || o.Digits < 1 || o.Digits > 12 || o.SplitEvents < 1 {
		return usageError("produce: --start must be at least 1, --digits 1 to 12, --split-events at least 1")
	}
	if o.Start > produce.MaxStart(o.Digits) {
		return usageError("produce: --start %d does not fit in --digits %d (at most %d)", o.Start, o.Digits, produce.MaxStart(o.Digits))
	}
	if err := produce.CheckPrefix(o.Prefix); err != nil {
		return usageError("produce: --prefix: %v", err)
	}
	if o.Interval != "" {
		if _, _, _, err := export.ParseInterval(o.Interval); err != nil {
			return usageError("produce: --interval: %v", err)
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit on the Go heap keeps a production of 100,000
		// messages under 300 MB resident (the ledger's SQLite caches come
		// on top). The live heap grows with the messages produced (about
		// 1 KB each), so past that the limit gives way to it, never
		// collecting more often than GOGC=50 would, rather than have the
		// collector run back to back; in a container of less than 320
		// MiB it starts at half of it. GOMEMLIMIT overrides it.
		defer memlimit.Follow(produceMemoryLimit, 50)()
	}
	mo := o.ev.matterOptions()
	mo.SignerKey = o.Key
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	defer m.Close()
	signer, err := m.SignerKey()
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	verifier, err := m.VerifierKey()
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	if verifier == "" {
		verifier = m.Ledger.VerifierKey()
	}
	store, err := evidenceStore(ctx, m)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	var sel produce.Selection
	if o.Diff != "" {
		if sel, err = produce.DiffSelection(ctx, m.Ledger, store, o.Diff); err != nil {
			return fmt.Errorf("produce: --diff: %w", err)
		}
	}
	sel.Conversations, sel.Interval, sel.LegalHoldOnly = o.Conversations, o.Interval, o.LegalHoldOnly
	res, err := produce.Run(ctx, produce.Deps{Ledger: m.Ledger, Store: store}, produce.Options{
		Out: o.Out, Format: o.Format, Selection: sel, Prefix: o.Prefix, Start: o.Start, Digits: o.Digits,
		Custodian: o.Custodian, SplitEvents: o.SplitEvents, SignerKey: signer, VerifierKey: verifier,
		Generator: "custody " + toolVersion(), ValidateRSMF: o.ValidateRSMF,
	})
	switch {
	case errors.Is(err, produce.ErrBadInterval), errors.Is(err, produce.ErrBadOption):
		return withCode(exitUsage, err)
	case errors.Is(err, ledger.ErrInconsistent):
		return withCode(exitFindings, fmt.Errorf("%w; nothing was produced (run 'custody verify' for the full list)", err))
	case err != nil:
		return err
	}
	if g.jsonOutput() {
		return g.writeJSON(res)
	}
	for _, r := range res.Removed {
		fmt.Fprintf(g.stdout, "removed %s: left by an earlier run of this matter's produce into %s, never recorded\n", r, res.Dir)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(g.stdout, "left alone %s: named like a production folder for %s, but not provably this matter's\n", k, res.Dir)
	}
	if res.Completed {
		fmt.Fprintf(g.stdout, "completed production entry %d left unfinished by an earlier run: %d messages of %d conversations into %s; nothing new recorded\n", res.Seq, res.Messages, res.Conversations, res.Dir)
		fmt.Fprintf(g.stdout, "files       %d, manifest sha256 %s\n", res.Files, res.ManifestSHA256)
		fmt.Fprintf(g.stdout, "check it:   custody verify --production %s --key %s\n", res.Dir, matter.VerifierKeyPath(g.Ledger))
		return nil
	}
	fmt.Fprintf(g.stdout, "produced %d messages (%d attachments) of %d conversations into %s\n", res.Messages, res.Attachments, res.Conversations, res.Dir)
	if res.RSMFFiles > 0 {
		fmt.Fprintf(g.stdout, "rsmf        %d files\n", res.RSMFFiles)
	}
	if res.EarlierCaptures > 0 {
		fmt.Fprintf(g.stdout, "earlier     %d earlier captures of messages changed or deleted at the source, produced beside the latest (counted in the messages)\n", res.EarlierCaptures)
	}
	if res.Erased > 0 {
		fmt.Fprintf(g.stdout, "erased      %d selected messages not produced: erased, or their content deleted by an erasure (manifest.json lists them)\n", res.Erased)
	}
	if n := len(res.SkippedErased); n > 0 {
		fmt.Fprintf(g.stdout, "skipped     %d conversations of the diff: their only findings are erased (custody erase), nothing of theirs to produce\n", n)
	}
	if res.DATRows > 0 {
		fmt.Fprintf(g.stdout, "dat         %d rows\n", res.DATRows)
	}
	fmt.Fprintf(g.stdout, "files       %d, manifest sha256 %s\n", res.Files, res.ManifestSHA256)
	fmt.Fprintf(g.stdout, "ledger      production entry %d; messages proved against the checkpoint of %d entries\n", res.Seq, res.ProofTreeSize)
	fmt.Fprintf(g.stdout, "check it:   custody verify --production %s --key %s\n", res.Dir, matter.VerifierKeyPath(g.Ledger))
	return nil
}
