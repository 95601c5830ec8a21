package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/reconcile"
)

type refetchOptions struct {
	captureOptions
	Diff     string
	Findings string
	Again    bool
}

func (o *refetchOptions) AddFlags(fs *pflag.FlagSet) {
	o.captureOptions.AddFlags(fs)
	fs.StringVar(&o.Diff, "diff", "", "run id of a recorded diff ('latest' for the most recent)")
	fs.StringVar(&o.Findings, "findings", "", "a findings file from 'custody diff --output jsonl|json' instead of --diff")
	fs.BoolVar(&o.Again, "again", false, "ask the source again about gaps an earlier refetch of the same diff gave a final outcome, and record them anew")
}

func newRefetchCommand(g *globalOptions) *cobra.Command {
	o := &refetchOptions{}
	cmd := &cobra.Command{
		Use:   "refetch (--diff RUN_ID | --findings FILE)",
		Short: "Capture again the conversations a diff found gaps in",
		Long: `Refetch reads the findings of a diff and captures again, through the export
machinery (same pacing, retries, evidence and ledger, and attachments
downloaded as export downloads them: --media, on by default, and
--max-attachment-bytes; a message captured with --media=false and
unchanged since is re-captured with its attachments, not a change), every
conversation with a gap: a message in the
old export that custody never captured (not_captured) or a captured
message the export lacks (missing_from_export).
A conversation the export left out entirely (conversation_absent) is not a
gap: the ledger holds all of it, and refetching every conversation an old
export did not cover would re-read the ledger from Genesys to learn
nothing about the export. Evidence goes to the matter's own store only.

It then reports each gap as:
  filled               now captured
  confirmed_at_source  the source still has it and so does the ledger: the export is incomplete
  still_missing        the conversation could not be captured (reason given); rerun
  gone_at_source       deleted upstream (404)
  not_at_source        the source has no such message in that conversation
  not_refetchable      the conversation id is not a Genesys id (the export's
                       content): no request can ask for it; or the message
                       id is not: no capture can hold it (an id longer
                       than any Genesys id is shown cut)
  erased               the conversation was erased, whole or in part
                       (custody erase), and is not captured again: the
                       source was not asked (the erasure entry is named)
and records every outcome but not_refetchable in the ledger as a "refetch"
entry (the diff's findings hold those). Rerunnable: a rerun for the same
diff asks only about the gaps no earlier refetch of it decided for good
(still_missing, or never decided); the others are listed with the run
that decided them ("decided earlier"), not asked about or recorded
again, so a scheduled rerun of a finished refetch sends no request and
appends nothing. --again asks about every gap anew.
gone_at_source, not_at_source, not_refetchable and erased are final, not
work left: no rerun changes them, so they alone do not make refetch fail;
each is listed. Stopped before it decided every gap (Ctrl-C or SIGTERM, the daily
limit, or an error such as no access token to be had), it still prints
what it did: why it stopped, and the run's accounting.

A --findings file (what 'custody diff --output jsonl|json' printed) is
acted on as the recorded diff it is the whole output of, unchanged: its
findings hash to what that diff recorded. Any other file (cut short,
edited, or from 'diff --no-record') is refetched with a warning, since
gaps may be missing from it; one that names a diff (run_id) whose findings
it does not hold, or that ends with a failed diff's error, is refused, as
is one with a record (a line) over 16 MiB: no finding diff writes comes
near; the error names the line.

Examples:
  custody refetch --diff latest
  custody refetch --findings findings.jsonl --api-url http://127.0.0.1:8080 --login-url http://127.0.0.1:8081
` + exitStatus(
			`0    every gap has a final outcome: filled, confirmed_at_source,
       gone_at_source, not_at_source, not_refetchable or erased (the
       last four are listed: the source no longer has, or never had,
       those messages, no request can name them, or custody erase
       erased their conversation)`,
			exit1, exit2,
			`3    some gaps are still_missing (a conversation could not be captured
       this time: rerun the same command), the API's daily limit stopped
       the run (rerun after the time given), or the ledger is damaged`,
			exit130Run),
		Args:        cobra.NoArgs,
		Annotations: map[string]string{resumableAnnotation: "yes"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return runRefetch(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runRefetch(ctx context.Context, o *refetchOptions, g *globalOptions) error {
	if (o.Diff == "") == (o.Findings == "") {
		return usageError("give exactly one of --diff RUN_ID or --findings FILE")
	}
	var ff *reconcile.FindingsFile
	if o.Findings != "" {
		// Read first: a file that is not findings leaves the matter
		// untouched.
		f, err := os.Open(o.Findings)
		if err != nil {
			return fmt.Errorf("--findings: %w", err)
		}
		ff, err = reconcile.ReadFindingsFile(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--findings %s: %w", o.Findings, err)
		}
	}
	c, err := o.open(ctx, g)
	if err != nil {
		return err
	}
	defer c.Close()
	var runID string
	var findings []diff.Finding
	if ff != nil {
		// Whose findings these are: a file that is a recorded diff's whole
		// output is acted on as that diff's; any other may lack findings
		// (cut short, edited, or from a diff never recorded), which
		// nothing but the file could show.
		findings = ff.Findings
		if runID, err = reconcile.RecordedDiff(ctx, c.deps.Ledger, ff); err != nil {
			return fmt.Errorf("--findings %s: %w", o.Findings, err)
		}
		if runID == "" {
			g.warn(fmt.Sprintf("--findings %s (%d findings) is not the whole output of any diff recorded in this matter (a file cut short or edited, or the output of 'diff --no-record'): refetching the gaps it lists, but gaps a whole diff found may be missing; 'custody refetch --diff RUN_ID' acts on a recorded diff", o.Findings, len(findings)))
		}
	} else if runID, findings, err = reconcile.LoadGaps(ctx, c.deps.Ledger, c.deps.Evidence, o.Diff); err != nil {
		return err
	}
	opts, prog := o.options(c, g, "refetch")
	defer collectLess(exportGCPercent, exportMemoryLimit)() // an export's work
	res, err := reconcile.Refetch(ctx, c.deps, findings, runID, opts, reconcile.RefetchOptions{Again: o.Again})
	prog.Finish()
	if res != nil && (err == nil || res.Export != nil) {
		// Stopped or not, what the run did is printed, as export prints
		// its accounting: a stopped one says why (res.Stopped).
		if perr := writeRefetch(g, res); perr != nil && err == nil {
			return perr
		}
	}
	var dl *fetch.DailyLimitError
	if errors.As(err, &dl) && ctx.Err() == nil { // a Ctrl-C is exit 130, whatever else the run met
		return withCode(exitFindings, fmt.Errorf("refetch stopped: %w; rerun the same command after %s", err, dl.Until.Local()))
	}
	if err != nil {
		return err
	}
	if n := res.Final(); n > 0 {
		g.note(fmt.Sprintf("%d gaps cannot be filled from the source (gone_at_source %d, not_at_source %d): final, recorded in the ledger; a rerun does not change them",
			n, res.Counts[reconcile.GoneAtSource], res.Counts[reconcile.NotAtSource]))
	}
	if n := res.Counts[reconcile.Erased]; n > 0 {
		g.note(fmt.Sprintf("%d gaps are in conversations erased (custody erase), not captured again: the source was not asked (listed as erased, recorded in the ledger); final", n))
	}
	if n := res.Counts[reconcile.NotRefetchable]; n > 0 {
		g.note(fmt.Sprintf("%d gaps not refetched: their conversation or message id is not a Genesys id, so no request can ask for it or no capture hold it (listed as not_refetchable)", n))
	}
	if n := res.Retryable(); n > 0 {
		return withCode(exitFindings, fmt.Errorf("refetch: %d gaps still missing (conversations not captured this time); rerun the same command to try them again", n))
	}
	return nil
}

// displayID shows an id from an export's content on a terminal: as it is
// if exportfile.SafeDisplay leaves it so and it holds no space, quote or
// U+FFFD (it stands in a list of ids), else Go-quoted (control
// characters, escape sequences and invalid UTF-8 escaped).
func displayID(id string) string {
	if id != "" && !strings.ContainsAny(id, " \"\uFFFD") && exportfile.SafeDisplay(id) == id {
		return id
	}
	return strconv.Quote(id)
}

// writeRefetch prints a refetch's result on stdout: the object under
// --output json, else printRefetch's text.
func writeRefetch(g *globalOptions, r *reconcile.Result) error {
	if g.jsonOutput() {
		return g.writeJSON(r)
	}
	printRefetch(g, r)
	return nil
}

func printRefetch(g *globalOptions, r *reconcile.Result) {
	w := g.stdout
	src := r.DiffRunID
	if src == "" {
		src = "findings file"
	}
	fmt.Fprintf(w, "refetch of %d gaps from %s\n", r.Gaps, src)
	if r.Earlier > 0 {
		runs := map[string]bool{}
		for _, oc := range r.Outcomes {
			if oc.EarlierRun != "" {
				runs[oc.EarlierRun] = true
			}
		}
		fmt.Fprintf(w, "  decided earlier: %d gaps, by %s (final outcomes, not asked about again; --again asks)\n", r.Earlier, strings.Join(slices.Sorted(maps.Keys(runs)), ", "))
	}
	if r.Stopped != "" {
		decided := 0
		for _, n := range r.Counts {
			decided += n
		}
		fmt.Fprintf(w, "  stopped: %s; %d of %d gaps decided, the others left for a rerun of the same command\n", r.Stopped, decided, r.Gaps)
	}
	for _, k := range []string{reconcile.Filled, reconcile.Confirmed, reconcile.StillMissing, reconcile.GoneAtSource, reconcile.NotAtSource, reconcile.NotRefetchable, reconcile.Erased} {
		if r.Stopped != "" && r.Counts[k] == 0 {
			continue // a count of 0 would read as an outcome decided
		}
		fmt.Fprintf(w, "  %-20s %d\n", k, r.Counts[k])
	}
	for _, oc := range r.Outcomes {
		if oc.Outcome == reconcile.Filled || oc.Outcome == reconcile.Confirmed {
			continue
		}
		if oc.MessageID == "" { // a conversation the export names, none of it captured
			fmt.Fprintf(w, "  %s: conversation %s (%s): %s\n", oc.Outcome, displayID(oc.ConversationID), oc.Finding, oc.Detail)
			continue
		}
		fmt.Fprintf(w, "  %s: conversation %s message %s (%s): %s\n", oc.Outcome, displayID(oc.ConversationID), displayID(oc.MessageID), oc.Finding, oc.Detail)
	}
	if a := r.Export; a != nil {
		fmt.Fprintf(w, "  run %s (%s): %d conversations, %d messages appended (whole run); this invocation: %d requests\n",
			a.RunID, a.Status, a.Listed, a.MessagesAppended, a.Invocation.Requests)
		if a.StopReason != "" && a.StopReason != r.Stopped {
			fmt.Fprintf(w, "  run stopped: %s\n", a.StopReason)
		}
	}
}
