package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // --timezone works where the system has no zoneinfo

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

type reportOptions struct {
	Out           string
	Diff          string
	Conversations []string
	Interval      string
	TimeZone      string
	Operator      string
	Proofs        string
	Checkpoints   []string
	NoVerify      bool
	NoRecord      bool
	Key           string
	ev            evidenceOptions // the matter's store, or a copy of it; --s3-* reach an S3 one
}

func (o *reportOptions) AddFlags(fs *pflag.FlagSet) {
	o.ev.AddFlags(fs, false)
	fs.StringVar(&o.Out, "out", "report", "folder to write report.html, report.json and the proof files into (created; an existing report there is never replaced)")
	fs.StringVar(&o.Diff, "diff", "", "the recorded diff to report on: a diff run id, latest, or none (default: the latest if there is one)")
	fs.StringArrayVar(&o.Conversations, "conversation", nil, "limit the transcripts to this conversation id (repeatable)")
	fs.StringVar(&o.Interval, "interval", "", "limit the transcripts to messages sent in START/END (dates or RFC 3339, END exclusive)")
	fs.StringVar(&o.TimeZone, "timezone", "UTC", "the matter's time zone (IANA name, e.g. America/New_York), shown beside UTC")
	fs.StringVar(&o.Operator, "operator", "", "who writes the report (default: the OS user)")
	fs.StringVar(&o.Proofs, "proofs", report.ProofsHeld, "which messages get a proof file beside the report: held (conversations under legal hold), all, none")
	fs.StringArrayVar(&o.Checkpoints, "checkpoint", nil, "a signed checkpoint kept outside the ledger, checked and listed (repeatable)")
	fs.BoolVar(&o.NoVerify, "no-verify", false, "do not verify the ledger and evidence first (the report then says on page 1 and in report.json that it was NOT verified, withholds the certificate, and is not recorded in the ledger)")
	fs.BoolVar(&o.NoRecord, "no-record", false, "open the matter read-only and record nothing: for a copy that cannot be written (verify --report then cannot confirm the files)")
	fs.StringVar(&o.Key, "key", "", "signer key file (default: the .key file beside the ledger)")
}

func newReportCommand(g *globalOptions) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report [--out DIR] [--diff RUN_ID|latest|none] [--conversation ID]... [--interval I] [--timezone TZ] [--operator NAME] [--key FILE]",
		Short: "Write the compliance report and certificate (report.html, report.json)",
		Long: `Report writes what an auditor reads: report.html, one self-contained page
(no network, no JavaScript) that prints cleanly to PDF, and report.json,
the same facts for machines (schema in docs/report.md). Its sections:
  1. matter summary: what was collected, from where, by which tool, when,
     by whom, every run with its outcome, and how many conversations
     the runs listed and did not capture;
  2. legal hold: the conversations under legal hold at capture, and which
     of them, and which of their messages, the diffed export lost,
     altered, time-shifted or holds without custody having captured them;
  3. what the export format cannot carry, stated once with the true
     values custody holds;
  4. findings by kind and severity with what each kind means, and every
     gap with its refetch outcome;
  5. transcripts: every message as Genesys returned it (read from the
     evidence), with its ledger seq, leaf hash and proof file;
  6. integrity: ledger size, Merkle root, chain head, every checkpoint
     (signed at the custodian's clock's time, the times its RFC 3161
     tokens claim, the witnesses whose cosignatures it carries; 'custody
     verify --tsa-roots/--witness' proves and checks them), what
     verification found, and the commands a third party runs, as they
     run in the folder that holds the ledger;
  7. exceptions: failed, gone at the source, pending (listed by a run
     that stopped before capturing them, and captured by no later run),
     media not kept, not at the source, erased, and each evidence object
     verification or the transcripts found altered or missing that a
     record depends on (a message's response body, opening or attachment;
     a conversation's object, hold answer, audit page or bulk response),
     evidence_altered or evidence_missing, with the message or
     conversation and what the ledger holds for it;
  8. a certificate of authenticity on its own printable page, in the
     style of a US FRE 902(13)/(14) certification, for a person to sign;
     withheld (nothing certified, nothing to sign) when verification
     failed or was skipped, or the transcripts met altered or missing
     evidence; when a run left conversations it listed uncaptured, it
     says that it certifies the records captured, not the scope whole.

The ledger and evidence are verified first (--no-verify skips it). Each
evidence object a transcript reads is checked against its address (its
SHA-256): a message read from one that does not match is shown as
evidence_altered (one not in the store, evidence_missing), with none of
its content, and listed in section 7. The SHA-256 of report.html,
report.json and any transcript pages is then recorded in the ledger (a
"report" entry; not the proof files, which 'custody verify --proof'
checks one by one) and a checkpoint signed, so the report is itself in
the chain of custody: 'custody verify --report report.html' confirms a
copy later. A report whose verification failed is recorded too: it says
so, and its certificate is withheld (docs/report.md). A report written
with --no-verify is never recorded (no entry, no checkpoint: nothing
vouches for a ledger nobody checked, and verify --report does not match
it); page 1 and report.json (not_verified) say it was NOT verified.
The checkpoint is signed with the key beside the ledger, or --key.
--no-record opens the matter read-only and records nothing, for a copy
that cannot be written.

A --conversation the ledger does not name, or a --conversation or
--interval that selects no message, is refused (exit 1, as produce
refuses it) before anything is written or recorded. A report that fails
or is cancelled removes what it wrote, and the folder if it made it.

Past 2,000 conversations the transcripts go to pages of 500 beside an
index. Proof files (proofs/SEQ.proof.json) are written for the messages
--proofs names; the others show the 'custody prove' command.

Examples:
  custody report
  custody report --out report-2024-05 --timezone Europe/London --operator "J. Smith"
  custody report --diff diff-20240501T120000Z-1a2b3c4d --proofs all
  custody report --conversation 8b9b… --interval 2024-01-01/2024-02-01
  custody report --no-record --out /tmp/review
` + exitStatus("0    the report was written and recorded (with --no-record or --no-verify: written, not recorded)",
			"1    it could not be written (a --conversation or --diff the ledger does not name, a selection of no message, a folder that cannot be made, an unreadable ledger or evidence)",
			`2    usage error: an unknown flag or invalid value (a time zone, --proofs,
       an interval, a verifier key as --key, a --checkpoint file that is
       no signed checkpoint at all), --key with --no-record or --no-verify, a folder that
       already holds a report`,
			`3    the report was written and recorded, but verifying the ledger or its
       evidence failed (section 6 says what), or the transcripts met evidence
       that does not hash to its address or is missing (--no-verify too): the
       certificate is withheld; or the ledger file is damaged (SQLite cannot read it): no
       report was written`,
			exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runReport(ctx context.Context, o *reportOptions, g *globalOptions) error {
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return usageError("report: --timezone %q: %v", o.TimeZone, err)
	}
	if o.Proofs != report.ProofsHeld && o.Proofs != report.ProofsAll && o.Proofs != report.ProofsNone {
		return usageError("report: --proofs must be held, all or none, not %q", o.Proofs)
	}
	if o.NoRecord && o.Key != "" {
		return usageError("report: --key signs, --no-record records nothing: give one or the other")
	}
	if o.NoVerify && o.Key != "" {
		return usageError("report: --key signs, --no-verify records nothing (a report not verified is never recorded): give one or the other")
	}
	// A report not verified is never recorded (report.Options.NoVerify):
	// the matter is opened read-only, as with --no-record.
	noRecord := o.NoRecord || o.NoVerify
	external, err := readCheckpointFiles("report", o.Checkpoints)
	if err != nil {
		return err
	}
	if o.Operator == "" {
		o.Operator = osUser()
	}
	mo := o.ev.matterOptions()
	mo.ReadOnly, mo.SignerKey = noRecord, o.Key
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer m.Close()
	if err := knownConversations(ctx, m.Ledger, o.Conversations); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	store, err := evidenceStore(ctx, m)
	if err != nil {
		return fmt.Errorf("report: evidence: %w", err)
	}
	var signer string
	if !noRecord {
		if signer, err = m.SignerKey(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	res, err := report.Generate(ctx, m.Ledger, store, report.Options{
		Out: o.Out, Diff: o.Diff, Conversations: o.Conversations, Interval: o.Interval, Location: loc,
		Operator: o.Operator, Tool: toolInfo(), SignerKey: signer, VerifierKey: m.Ledger.VerifierKey(),
		External: external, Proofs: o.Proofs, NoVerify: o.NoVerify, NoRecord: noRecord,
	})
	// No such diff is not among them: a named thing that does not exist
	// is bad input (exit 1), as produce and refetch have it; so is a
	// selection of no message (report.ErrEmptySelection).
	switch {
	case errors.Is(err, report.ErrExists), errors.Is(err, report.ErrInterval):
		return withCode(exitUsage, err)
	case err != nil:
		return fmt.Errorf("report: %w", err) // "reconcile: no recorded diff" is report's failure
	}
	if g.jsonOutput() {
		if err := g.writeJSON(res); err != nil {
			return err
		}
	} else {
		printReportResult(g.stdout, res)
	}
	if o.NoVerify {
		g.warn("report: NOT VERIFIED (--no-verify): the ledger and its evidence were not checked, the certificate is withheld, and the report is not recorded in the ledger; write it again without --no-verify to verify and record it")
	}
	switch {
	case res.EvidenceAltered > 0:
		return withCode(exitFindings, fmt.Errorf("report: written, but %d messages or conversation objects were read from evidence that does not hash to its address: marked evidence_altered in section 5, none of their content shown, and the certificate withheld; run custody verify --evidence", res.EvidenceAltered))
	case res.EvidenceMissing > 0:
		return withCode(exitFindings, fmt.Errorf("report: written, but the evidence of %d messages or conversation objects is missing from the store: marked evidence_missing in section 5, listed in section 7, and the certificate withheld; run custody verify --evidence", res.EvidenceMissing))
	case !res.Verified && !o.NoVerify:
		return withCode(exitFindings, errors.New("report: written, but the ledger or its evidence failed verification: see section 6 of the report, the certificate is withheld; run custody verify --evidence"))
	}
	return nil
}

func printReportResult(w io.Writer, res *report.Result) {
	fmt.Fprintf(w, "%s\n", res.HTML)
	for _, r := range res.Removed {
		fmt.Fprintf(w, "  removed %s: left by an earlier report, never recorded\n", r)
	}
	if res.Completed && res.Seq != nil {
		fmt.Fprintf(w, "  completed report entry %d left unfinished by an earlier run (its files now have their names); nothing new recorded\n", *res.Seq)
	}
	fmt.Fprintf(w, "  %s (the same facts for machines)\n", res.JSON)
	fmt.Fprintf(w, "  %d conversations, %d messages", res.Convs, res.Messages)
	if res.DiffRun != "" {
		fmt.Fprintf(w, "; diff %s", res.DiffRun)
	} else {
		fmt.Fprintf(w, "; no diff")
	}
	// res.Files are the report's own pages (report.html, any transcript
	// pages, report.json): the files whose hashes a recorded report
	// enters in the ledger. The proof files are apart.
	fmt.Fprintf(w, "; %d report files (HTML and JSON) and %d proof files\n", len(res.Files), res.Proofs)
	if res.Seq != nil {
		fmt.Fprintf(w, "  recorded in the ledger at seq %d (%s); check a copy with: custody verify --report %s\n", *res.Seq, res.RunID, res.HTML)
	}
}

// osUser is who runs custody, for a report's default operator.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// toolInfo describes this binary: version, VCS revision and the SHA-256
// of the executable.
func toolInfo() report.Tool {
	t := report.Tool{Name: "custody", Version: toolVersion(), VCSRevision: commit}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				t.VCSRevision = s.Value
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				t.BuildSHA256 = hex.EncodeToString(h.Sum(nil))
			}
			f.Close()
		}
	}
	return t
}

// knownConversations checks that the ledger names every conversation id
// in ids: a --conversation it does not name would make an empty report
// (produce refuses the same, exit 1).
func knownConversations(ctx context.Context, l *ledger.Ledger, ids []string) error {
	var unknown []string
	for _, id := range ids {
		found := false
		for _, err := range l.Entries(ctx, ledger.Filter{ConversationID: id, Limit: 1}) {
			if err != nil {
				return err
			}
			found = true
		}
		if !found && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("conversation not in the ledger: %s", strings.Join(unknown, ", "))
	}
	return nil
}
