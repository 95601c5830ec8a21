package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
)

type diffOptions struct {
	ev          evidenceOptions
	Format      string
	Policy      string
	SourceS3    string
	SourceS3Reg string
	Concurrency int
	Key         string
	NoRecord    bool
	ExportTime  string
	Retention   time.Duration
	AllConvs    bool
}

func (o *diffOptions) AddFlags(fs *pflag.FlagSet) {
	o.ev.AddFlags(fs, true)
	fs.StringVar(&o.Format, "format", "auto", "export shape: auto (detected per file), genesys, reshape or jsonl")
	fs.StringVar(&o.Policy, "policy", "", "policy file naming the required fields and where each shape keeps them (default: built in, see docs/policy.md)")
	fs.StringVar(&o.SourceS3, "source-s3-endpoint", "", "S3 endpoint of an s3:// export, for S3-compatible stores (default: --s3-endpoint)")
	fs.StringVar(&o.SourceS3Reg, "source-s3-region", "", "S3 region of an s3:// export (default: --s3-region)")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "files read at once, 1 to 64 (default: 4; 64 from s3://, 32 from a folder on a network share: their reads wait on round trips)")
	fs.StringVar(&o.Key, "key", "", "checkpoint signer key (default: the key beside the ledger)")
	fs.BoolVar(&o.AllConvs, "all-conversations", false, fmt.Sprintf("the text summary lists every conversation with findings, not only the %d with the most", diff.SummaryConversations))
	fs.BoolVar(&o.NoRecord, "no-record", false, "compare only: open the matter read-only and record nothing (no evidence, no ledger entry, no checkpoint)")
	fs.StringVar(&o.ExportTime, "export-time", "", "when the export was made (RFC 3339): gaps newer than it less 48 hours get the cause pending_data_lake")
	daysDurationVar(fs, &o.Retention, "retention", 0, "the org's recording retention, in days (90d) or as a Go duration (2160h), with --export-time: absent conversations older than it get the cause deleted_by_retention")
}

func newDiffCommand(g *globalOptions) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff SOURCE",
		Short: "Compare an old Recording export with the ledger, message by message",
		Long: `Diff reads an old export — a folder or s3://bucket/prefix, in the Genesys
Recording S3 layout, a customer reshape {"channel":"whatsapp","messages":[…]},
or JSON Lines — and compares every message with what custody captured. It
reports every required field a message lacks though its format has a
place for it (field_stripped: sender, timestamp, text, a WhatsApp
template's header media or a message's attachments a pipeline dropped),
once for the whole export each field its format has no place for
(format_lacks: legal_hold and audit_trail_id, which no Genesys export
format carries, and the attachments and template header media in a
reshape that keeps no media — custody supplies them, it restores
nothing), every altered value (attachments compared by id, as a set),
timestamps cut to seconds or
shifted, content that differs, messages captured but missing from the
export, messages in the export custody never captured (gaps: see 'custody
refetch'), duplicates, and files that cannot be read. A file that cannot
be parsed is a finding, and the diff goes on. Each finding kind in plain
words, with an example: docs/findings.md.

Every captured conversation the export does not cover at all is a
conversation_absent finding, one per conversation. A conflicting duplicate
key in a message, invalid UTF-8 in an id or a field, and a value larger
than 1 MiB (the file is read no further) are findings too (docs/diff.md).

The diff itself enters the chain of custody: its findings and the SHA-256
of every export file read are stored as evidence — in the matter's own
store, never another — and a "diff" ledger entry records their hashes. Its
run id is printed ('custody refetch --diff ID' acts on it): after the text
summary, as run_id and seq in --output json, and on stderr (the "diff
recorded" line) with --output jsonl or csv, whose stdout is findings only. With
--no-record the matter is opened read-only and nothing is written: no
evidence, no entry, no checkpoint (a copy on read-only media works).

An export with nothing to read — a folder that does not exist or holds no
file, an s3:// prefix with no objects, files none of which can be read —
is an error (exit 1) and is never recorded as a complete export.

Output: a summary (text) — totals, the count of each finding kind, then
the 20 conversations with the most findings (--all-conversations: every
one) — or every finding with --output json, csv or jsonl. Memory does not grow with the size of the export or of one
value. Progress (files compared) goes to stderr: a counter with its rate
on a terminal, otherwise a log line every 10 seconds (done, elapsed,
per_second).

Examples:
  custody diff ./old-export
  custody diff s3://acme-exports/2024/ --s3-endpoint http://127.0.0.1:7070 --output csv > findings.csv
  custody diff ./reshaped --format reshape --policy policy.json
  custody diff ./old-export --no-record --output jsonl
  custody diff ./old-export --no-record --all-conversations
` + exitStatus("0    the export is complete: no findings", exit1, exit2,
			"3    the export has findings; or the ledger is damaged", exit130),
		Args:        oneArg("SOURCE (the export's folder or s3://bucket/prefix)"),
		Annotations: map[string]string{outputsAnnotation: "text,json,csv,jsonl"},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Unset, the diff picks by source (0: its default).
			if cmd.Flags().Changed("concurrency") {
				if err := checkConcurrency(o.Concurrency); err != nil {
					return err
				}
			}
			return runDiff(cmd.Context(), args[0], o, g)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runDiff(ctx context.Context, loc string, o *diffOptions, g *globalOptions) error {
	if strings.TrimSpace(loc) == "" {
		return usageError("diff: SOURCE is empty: give the export's folder or s3://bucket/prefix")
	}
	// SOURCE's scheme is read as --evidence LOC's is: an unknown one is
	// a usage error, not a folder of that name that does not exist.
	b, norm, err := o.ev.backends.Lookup(loc)
	switch {
	case errors.Is(err, evidence.ErrUnknownScheme):
		scheme, _, _ := strings.Cut(loc, "://")
		return usageError("diff: SOURCE %s: unknown scheme %q: give the export's folder (DIR or file://DIR) or s3://bucket/prefix", loc, strings.ToLower(scheme))
	case err != nil:
		return usageError("diff: SOURCE %s: %v", loc, err)
	}
	if err := badS3Location(norm); err != nil {
		return usageError("diff: SOURCE %s: %v", loc, err)
	}
	if b.Scheme() == folder.Scheme {
		loc = strings.TrimPrefix(norm, folder.Scheme+"://")
	} else {
		loc = norm
	}
	format, err := exportfile.ParseFormat(o.Format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	policy := diff.DefaultPolicy()
	if o.Policy != "" {
		if policy, err = diff.LoadPolicy(o.Policy); err != nil {
			return err
		}
	}
	if o.AllConvs && g.Output != "text" {
		return usageError("--all-conversations shapes the text summary; --output %s already lists every finding", g.Output)
	}
	if o.NoRecord && o.Key != "" {
		return usageError("--key signs the diff's checkpoint; --no-record signs nothing")
	}
	var exportTime time.Time
	if o.ExportTime != "" {
		if exportTime, err = time.Parse(time.RFC3339Nano, o.ExportTime); err != nil {
			return usageError("--export-time %q: want an RFC 3339 time such as 2024-04-02T09:00:00Z", o.ExportTime)
		}
		// Taken as given (a clock can be wrong), but said: every gap
		// newer than it less 48 hours would be pending_data_lake.
		if exportTime.After(time.Now()) {
			g.warn(fmt.Sprintf("--export-time %s is in the future: an export made then cannot be the one read now; gaps newer than it less 48 hours get the cause pending_data_lake", o.ExportTime))
		}
	}
	if o.Retention < 0 || (o.Retention > 0 && o.ExportTime == "") {
		return usageError("--retention needs --export-time and must not be negative")
	}
	// The export first: a source that cannot be opened must leave the
	// matter untouched (opening its evidence store may record where it is).
	// An s3:// export is reached as the S3 evidence store is, unless the
	// --source-s3-… flags say otherwise.
	s3cfg := o.ev.s3().Config()
	s3cfg.Endpoint = firstNonEmpty(o.SourceS3, s3cfg.Endpoint)
	s3cfg.Region = firstNonEmpty(o.SourceS3Reg, s3cfg.Region)
	src, err := exportfile.NewSource(ctx, loc, exportfile.SourceConfig{S3: s3cfg, FolderRequests: o.ev.folder().Requests})
	if err != nil {
		return fmt.Errorf("diff: cannot read the export %s: %w", loc, err)
	}
	if c, ok := src.(interface{ Close() error }); ok {
		defer c.Close()
	}
	mo := o.ev.matterOptions()
	mo.SignerKey = o.Key
	mo.ReadOnly = o.NoRecord
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return err
	}
	defer m.Close()
	l := m.Ledger
	// Findings can number in the millions: buffer stdout rather than
	// make one write call each.
	out := bufio.NewWriterSize(g.stdout, 1<<16)
	defer out.Flush()
	var w diff.Writer
	if g.Output != "text" {
		if w, err = diff.NewWriter(g.Output, out); err != nil {
			return err
		}
	}
	opts := reconcile.DiffOptions{
		Operator: operatorName(), ToolVersion: toolVersion(),
		Diff: diff.Options{Format: format, Policy: policy, Concurrency: o.Concurrency, ExportTime: exportTime, Retention: o.Retention},
	}
	if jw, ok := w.(diff.JSONWriter); ok {
		opts.EmitJSON = jw.WriteJSON // the bytes it stores, not encoded again
	} else if w != nil {
		opts.Emit = w.Write
	}
	if o.NoRecord {
		// v3 captures are opened from the evidence store; a ledger of
		// v1 captures alone compares without it.
		if st, err := evidenceStore(ctx, m); err == nil {
			opts.Evidence = st
		} else {
			g.log.Warn("no evidence store: v3 captures cannot be opened", "error", err)
		}
		return compareOnly(ctx, l, src, opts, g, w, out, o.summaryOptions())
	}
	// Findings and the file manifest go to the matter's own evidence store
	// (matter.Evidence refuses any other for writing).
	store, err := evidenceStore(ctx, m)
	if err != nil {
		return err
	}
	// Sign a checkpoint over the diff entry when this ledger's key is at
	// hand; without it the entry waits for the next 'custody checkpoint'.
	if key, err := m.SignerKey(); err == nil {
		opts.SignerKey = key
	} else if o.Key != "" {
		return err
	} else {
		g.log.Warn("no signer key beside the ledger: the diff entry is not covered by a checkpoint until one is signed", "error", err)
	}
	prog := newProgress(g, "diff: files compared")
	opts.Progress = prog.Count
	res, err := reconcile.Diff(ctx, l, store, src, opts)
	prog.Finish()
	if err != nil {
		return abortOutput(w, err)
	}
	if w != nil {
		if rw, ok := w.(diff.RecordWriter); ok {
			rw.SetRecord(res.RunID, res.Seq)
		}
		if err := w.Close(res.Summary); err != nil {
			return err
		}
	} else {
		if err := diff.WriteSummaryWith(out, res.Summary, o.summaryOptions()); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nrecorded as %s (ledger entry %d); findings %s\n", res.RunID, res.Seq, res.FindingsSHA256)
		glossaryLine(out, res.Summary)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	g.log.Info("diff recorded", "run", res.RunID, "seq", res.Seq, "findings", res.Summary.Counts.Total(), "files", res.FilesRead)
	if res.Summary.Counts.Total() > 0 {
		return withCode(exitFindings, nil)
	}
	return nil
}

// abortOutput finishes the findings output of a diff that failed with
// err, leaving no torn document on stdout (diff.Writer.Abort), and
// returns err.
func abortOutput(w diff.Writer, err error) error {
	if w != nil {
		if aerr := w.Abort(err); aerr != nil {
			return errors.Join(err, aerr)
		}
	}
	return err
}

// compareOnly is diff --no-record: the comparison, printed, and nothing
// recorded.
func compareOnly(ctx context.Context, l *ledger.Ledger, src exportfile.Source, opts reconcile.DiffOptions, g *globalOptions, w diff.Writer, out *bufio.Writer, so diff.SummaryOptions) error {
	prog := newProgress(g, "diff: files compared")
	opts.Progress = prog.Count
	sum, err := reconcile.Compare(ctx, l, src, opts)
	prog.Finish()
	if err != nil {
		return abortOutput(w, err)
	}
	if w != nil {
		if err := w.Close(sum); err != nil {
			return err
		}
	} else {
		if err := diff.WriteSummaryWith(out, sum, so); err != nil {
			return err
		}
		fmt.Fprintln(out, "\nnot recorded (--no-record): the ledger and the evidence store are unchanged")
		glossaryLine(out, sum)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	g.log.Info("diff not recorded", "findings", sum.Counts.Total(), "files", sum.Files)
	if sum.Counts.Total() > 0 {
		return withCode(exitFindings, nil)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// summaryOptions: the text summary's per-conversation table.
func (o *diffOptions) summaryOptions() diff.SummaryOptions {
	so := diff.SummaryOptions{MoreHint: "--all-conversations lists them; --output csv lists every finding"}
	if o.AllConvs {
		so.MaxConversations = -1
	}
	return so
}

// glossaryLine points a reader of the text summary at what the kinds mean.
func glossaryLine(out *bufio.Writer, s diff.Summary) {
	if s.Counts.Total() > 0 {
		fmt.Fprintln(out, "each finding kind in plain words, with an example: docs/findings.md")
	}
}
