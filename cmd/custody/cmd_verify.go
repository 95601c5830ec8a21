package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/redact"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/verify"
	"github.com/custodyhq/custody/internal/witness"
)

type verifyOptions struct {
	Key         string
	Checkpoints []string
	Proof       string
	Report      string
	NoDerive    bool
	Production  string
	ev          evidenceOptions // --evidence given: re-hash the evidence too

	TSARoots         string
	Witnesses        []string
	WitnessThreshold int
}

func (o *verifyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Key, "key", "", "verifier key, or a file holding it (default: the .pub file beside the ledger, the custodian's own copy: an auditor passes their own)")
	fs.StringArrayVar(&o.Checkpoints, "checkpoint", nil, "a signed checkpoint kept outside the ledger that it must still agree with (repeatable)")
	fs.StringVar(&o.Proof, "proof", "", "check this proof file offline, with --key and no ledger")
	fs.StringVar(&o.Report, "report", "", "also check that this file (report.html, report.json, a transcript page) is one 'custody report' recorded in the ledger, unchanged")
	fs.BoolVar(&o.NoDerive, "no-derive", false, "with --evidence, only re-hash the objects: do not re-derive leaf fields from them (faster; a rewritten leaf re-signed with the key goes unnoticed)")
	fs.StringVar(&o.Production, "production", "", "check a production folder from 'custody produce': every file, the manifest, every proof")
	o.ev.AddFlags(fs, false)
	fs.StringVar(&o.TSARoots, "tsa-roots", "", "PEM bundle of roots you trust that timestamp tokens must chain to, for their times to be proven (without it, tokens are chained to the bundle the matter names, and their times are only claimed)")
	fs.StringArrayVar(&o.Witnesses, "witness", nil, "a witness verifier key, or a file holding it: the latest checkpoint (with --proof, the proof's; with --production, the messages' and the production entry's) must carry its cosignature (repeatable)")
	fs.IntVar(&o.WitnessThreshold, "witness-threshold", 0, "how many of the --witness keys must have cosigned (default: all)")
	fs.Lookup("evidence").Usage = "also re-hash every evidence object the ledger references, in this store (a folder, file://DIR or s3://bucket/prefix) or, bare, the matter's own; report missing, altered and unreferenced ones, check the checkpoint copies beside them, and name what else the store holds"
	// Before --evidence took a location, verify took it here; it names
	// the store without turning the check on, as it did then.
	fs.StringVar(&o.ev.Location, "evidence-store", "", "deprecated: use --evidence LOC")
	f := fs.Lookup("evidence-store")
	f.Hidden = true
	f.Annotations = map[string][]string{deprecatedAnnotation: {"evidence"}}
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [--key KEY] [--checkpoint FILE]... | verify --proof FILE --key KEY",
		Short: "Check the ledger's hash chain, Merkle roots and signed checkpoints",
		Long: `Verify reads every entry of the ledger once and checks that:
  - sequence numbers run 0, 1, 2, … with none missing;
  - every leaf hashes to its stored leaf hash (SHA-256 of 0x00 || leaf);
  - every chain link is SHA-256("custody/chain/v1" || 0x00 || previous || leaf hash);
  - every stored checkpoint is signed by the verifier key, and the Merkle
    root recomputed from the entries at its size is the one it signed
    (so each checkpoint is also consistent with every earlier one);
  - every --checkpoint FILE (kept outside the ledger) is signed and the
    ledger still has its entries and its root: a ledger cut short reports
    "ledger truncated", a rewritten one "history rewritten";
  - every leaf is strict: I-JSON, no member named twice, exactly its
    RFC 8785 canonical bytes, a custody entry;
  - stored checkpoint ids run 1, 2, 3, … with none missing;
  - the verifier key is named for this ledger's origin (a key of another
    ledger, or a ledger rebuilt under another identity, is a failure, and
    the --checkpoint files are still compared).
  - every RFC 3161 timestamp token stored beside a checkpoint is over
    SHA-256 of that checkpoint's note, signed, and (with roots) issued
    by a certificate whose only extended key usage is timeStamping, in
    a critical extension, whose key usage (if any) is digitalSignature
    and/or nonRepudiation alone, that chains to a root through CA
    certificates whose key usage (if any) has keyCertSign, and was valid
    at the token's time. For each checkpoint it states the
    earliest time a token gives: proven ("chained to a trusted root")
    only when the token chains to --tsa-roots, roots you trust. Without
    --tsa-roots tokens are chained to the bundle the matter names (its
    tsa_roots setting), which whoever can change the ledger file can
    change: the time is then only claimed, and a warning says to pass
    --tsa-roots. A checkpoint an authority gave no token is a warning
    ('custody checkpoint --timestamp-missing' fills it). With
    --tsa-roots, the checkpoints with neither a token nor a recorded gap
    are one timestamp warning too, naming them (their times are not
    proven) and what the ledger's records show of the authorities when
    they were signed; not a failure: an absent token proves no tampering;
  - with --witness KEY (repeatable), the latest checkpoint carries valid
    C2SP cosignatures by --witness-threshold of those witnesses (default:
    all): a witness cosigns only a history consistent with what it saw
    before, so a forked or rewritten ledger lacks them.
It names the first failing sequence number or checkpoint and what failed.
When every check holds but entries at the end are covered by no signed
checkpoint (stored, or a --checkpoint FILE), the verdict is UNSIGNED,
not OK (exit 4; "ok": false and "unsigned" in --output json): only the
hash chain vouches for those entries, and whoever can write the ledger
file can rewrite the chain. A run cut short leaves such entries, and so
does anyone who appends to the file.
One break is one finding: what follows from it (every entry after a
deleted one, the checkpoints over an altered one, with --evidence the
erased objects counted missing because the checkpoints vouching for
their erasure fail with it) is counted on it, not listed.

With --evidence it also re-hashes every evidence object the ledger
references, in the matter's own store (bare --evidence) or in another
(--evidence LOC: a copy, a mirror), and reports missing, altered and
unreferenced objects; unreferenced ones are re-hashed too, and one whose
bytes do not hash to its name is a failure (no interrupted run leaves
that). It checks each checkpoint copy beside the evidence
(checkpoints/<size>.note, written by export and refetch) as a
--checkpoint FILE, and names in warnings every other file in the store
that is not custody's (misplaced objects, stray or temporary files),
none of which it reads. It also re-derives every field a leaf took from
its evidence (message and conversation ids, timestamp, sender, recipient,
direction, content hash, legal hold, audit references, payload hash) and
reports each difference as a "derived" failure naming the seq and the
field: a leaf rewritten and re-signed by someone holding the key.
Objects deleted by 'custody erase' are reported as erased, not missing,
with the conversations and messages erased, when an erasure entry under
a signed checkpoint (stored, or a --checkpoint FILE) lists them, an
entry of a conversation or message it erases referenced them before it,
and no entry after it does. An erasure entry no signed checkpoint covers
excuses nothing: anyone who can write the ledger file can append one
('custody checkpoint' signs over a genuine one).

--no-derive skips the re-derivation (most of the time --evidence takes)
and only re-hashes the objects. Re-deriving trades memory for speed:
Go's heap may grow to four times what verify keeps, up to 768 MiB (or
half the memory of a smaller machine or container), and to twice what it
keeps beyond that (docs/commands.md); GOGC=100 in the environment holds
it to twice from the start, for about a tenth more time.

Verify opens everything read-only and records nothing.

Take the verifier key from somewhere the ledger's custodian cannot
rewrite: whoever can change the ledger can change custody.pub beside it.
Without --key (and --checkpoint) verify uses that custody.pub and warns
(verifier_key) that it proves only that the copy agrees with itself.
--checkpoint FILE reads a file with CRLF line endings or no final newline
(a checkpoint sent by e-mail) as if it had neither.

With --report FILE it also checks that FILE is a file of a report 'custody
report' wrote and recorded in this ledger (its SHA-256 and size are in a
"report" entry covered by a signed checkpoint): one byte changed and it
is not (exit 3). A report file that a later erasure entry under a signed
checkpoint lists for recall (custody erase: it holds, or may hold, what
was erased) is RECALLED, naming the erasure entry, its time and reason
(exit 4): its bytes are the ones recorded, but it is not to be relied on
as it is.

With --production DIR it checks a production from 'custody produce':
every file against the production's manifest (and no file beside them),
the manifest's hash against the production ledger entry (proved by
production.proof.json, and found in the ledger when there is one), the
signed checkpoint, and every message's proof. Each failure names the file.
A production a later erasure entry under a signed checkpoint lists for
recall is RECALLED, as a report file is (exit 4).
A --ledger that does not exist is an error; with none named and none here,
the output says that no ledger was checked. Another matter's ledger is a
failure that names the mismatch.
Without a ledger or --key it uses the production's own custody.pub, and
says so: that proves only that the production agrees with itself.

With --proof FILE it checks a proof file from 'custody prove' offline
(JSON, or the C2SP tlog-proof form): no ledger is opened, only the proof
and --key are needed. It also checks the timestamp tokens the proof
carries (against --tsa-roots when given) and states when the entry
existed by: proven with --tsa-roots, otherwise only as the token claims;
and with --witness the cosignatures on its checkpoint.

On large ledgers it shows progress on stderr (a bar on a terminal, a log
line every few seconds otherwise). --output json prints the full report.

Examples:
  custody verify --key matter-42.pub --checkpoint counsel-2024-05-01.checkpoint
  custody verify --evidence
  custody verify --evidence --no-derive
  custody verify --evidence s3://mirror/matter-42 --s3-region eu-west-1
  custody verify --proof msg-2f0c.proof.json --key matter-42.pub
  custody verify --tsa-roots tsa-roots.pem --witness counsel.witness.pub
  custody verify --report report/report.html
  custody verify --production prod-001 --key matter-42.pub
` + exitStatus("0    every check holds",
			`1    it could not verify for another reason: a file missing or
       unreadable, a file that is not a custody ledger, no verifier key
       for a ledger with checkpoints; or, the ledger checked, the
       evidence store or the --report file could not be read: the
       ledger's result is printed, that part named (ERROR … not
       checked), and INCOMPLETE where OK would be (3 when a check that
       ran failed: an evidence object that cannot be read hides no
       other's failure)`,
			`2    usage error: an unknown flag or invalid value (a signer key, or a
       file that holds no verifier key, given as --key or --witness, a
       --checkpoint file that is no signed checkpoint at all, an
       --evidence LOC that is no folder); flags that
       contradict each other (--proof with --checkpoint or --report,
       --production with --checkpoint or --evidence, --no-derive without
       --evidence); no verifier key for --proof or --production`,
			`3    the ledger (or proof, or production) failed a check, the first failure named on
       stderr: any finding, a verifier key of another ledger or signatures
       that fail with it, a ledger rebuilt under another identity, a
       ledger file SQLite reports damaged, a --report file the ledger
       does not record`,
			`4    UNSIGNED: every check that ran holds, but entries X to Y are
       covered by no signed checkpoint (stored, or a --checkpoint FILE):
       only the hash chain vouches for them, and whoever can write the
       ledger file can write the chain too. If custody wrote them (a run cut short),
       the custodian signs them with 'custody checkpoint'; otherwise
       nothing vouches for them. RECALLED: every check holds, but a
       later erasure entry under a signed checkpoint lists the --report
       file or the --production for recall`,
			exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runVerify(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runVerify(ctx context.Context, o *verifyOptions, g *globalOptions) error {
	if o.Proof != "" {
		if len(o.Checkpoints) > 0 {
			return usageError("verify: --proof checks one proof file; it does not take --checkpoint")
		}
		if o.Report != "" {
			return usageError("verify: --proof checks one proof file offline; --report needs the ledger")
		}
		return runVerifyProof(o, g)
	}
	if o.NoDerive && !o.ev.given {
		return usageError("verify: --no-derive only applies with --evidence")
	}
	if o.Production != "" {
		if len(o.Checkpoints) > 0 || o.ev.given {
			return usageError("verify: --production checks a production folder; it does not take --checkpoint or --evidence")
		}
		return runVerifyProduction(ctx, o, g)
	}
	external, err := readCheckpointFiles("verify", o.Checkpoints)
	if err != nil {
		return err
	}
	key, err := matter.ReadVerifierKey(o.Key, g.Ledger)
	if err != nil {
		return matterError(fmt.Errorf("verify: %w", err))
	}
	// Read-only: verify never writes the ledger or the evidence, nor
	// records which store it checked.
	mo := o.ev.matterOptions()
	mo.ReadOnly, mo.VerifierKey = true, o.Key
	m, err := openMatter(ctx, g, mo)
	if errors.Is(err, ledger.ErrCorrupt) {
		return withCode(exitFindings, fmt.Errorf("verify: FAILED: the ledger file is damaged, SQLite cannot read it: %w", err))
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer m.Close()
	opts := verify.Options{VerifierKey: key, External: external, WitnessThreshold: o.WitnessThreshold, NoDerive: o.NoDerive}
	// An erase cut short left its journal: read, never removed (verify
	// writes nothing); its deletions are explained, not excused.
	if opts.ErasePending, err = erasure.ReadPending(g.Ledger); err != nil {
		g.warn(err.Error())
	}
	if o.WitnessThreshold < 0 || o.WitnessThreshold > len(o.Witnesses) {
		return usageError("verify: --witness-threshold must be between 1 and the number of --witness keys (%d)", len(o.Witnesses))
	}
	for _, w := range o.Witnesses {
		k, err := readWitnessKey(w)
		if err != nil {
			return err
		}
		opts.Witnesses = append(opts.Witnesses, k)
	}
	if o.TSARoots != "" {
		if opts.TSARoots, _, err = readRoots("verify", o.TSARoots); err != nil {
			return err
		}
	} else if opts.MatterTSARoots, err = m.TSARoots(ctx); err != nil {
		// The matter's own roots: checked against, never trusted (a
		// token chaining to them gives a claimed time, not a proven one).
		return fmt.Errorf("verify: %w", err)
	}
	if o.ev.given {
		if err := o.ev.checkFolderExists("verify"); err != nil {
			return err
		}
		// Evidence re-hashing: the matter's own store (bare --evidence)
		// or the one named; the matter closes it.
		if opts.Evidence, err = evidenceStore(ctx, m); err != nil {
			return fmt.Errorf("verify: evidence: %w", err)
		}
	}
	if o.ev.given && !o.NoDerive {
		// Re-derivation allocates for every message it decodes (9 GB for
		// a matter of 792,497 objects) while its live heap stays small
		// (queues of a bounded size, and ≈ 90 bytes an evidence object):
		// collect less often (≈ 8 % less CPU, on a small matter and on
		// that one; issue 16), under a soft limit that bounds what this
		// costs in memory. The limit gives way to a live heap that
		// outgrows it (past about 384 MB live, several million objects),
		// never collecting more often than Go's default (GOGC=100) would,
		// where a fixed limit has the collector run more and more often,
		// then back to back. GOGC or GOMEMLIMIT set by the user win.
		defer collectLess(verifyGCPercent, verifyMemoryLimit)()
	}
	var reportFile *os.File
	if o.Report != "" {
		// Opened before any work, as the --checkpoint files are read: a
		// file that is not there fails at once, not after the ledger.
		f, _, err := fsinfo.OpenRegularFile(o.Report) // a FIFO would block
		if err != nil {
			return fmt.Errorf("verify: --report: %w", err)
		}
		defer f.Close()
		reportFile = f
	}
	prog := newVerifyProgress(g)
	opts.Progress = prog.update
	rep, err := verify.Ledger(ctx, m.Ledger, opts)
	prog.finish()
	switch {
	case errors.Is(err, ledger.ErrNoVerifierKey):
		return fmt.Errorf("verify: %w: pass --key, or keep the verifier key in %s", err, matter.VerifierKeyPath(g.Ledger))
	case err != nil:
		return err // verify.Ledger names itself ("verify: …")
	}
	if key != "" {
		rep.VerifierKey, rep.VerifierKeyFrom = keyID(key), verifierKeyFrom(o.Key, g.Ledger)
	}
	if o.Key == "" && key != "" && len(o.Checkpoints) == 0 {
		// The key beside the ledger came with the copy: whoever rebuilt
		// the ledger under a new identity replaced it too.
		rep.Warnings = append(rep.Warnings, verify.Finding{Check: verify.CheckVerifierKey, Warning: true,
			Message: fmt.Sprintf("checked with %s, the verifier key beside the ledger: a copy's own key proves only that the copy agrees with itself; an auditor passes --key with the key received separately (or --checkpoint with one kept apart)",
				matter.VerifierKeyPath(g.Ledger))})
	}
	if reportFile != nil {
		// What the ledger pass read: the report and erasure entries, not
		// read again.
		match, err := rep.MatchReportFile(ctx, m.Ledger, o.Report, reportFile)
		switch {
		case ctx.Err() != nil:
			// Cancelled: never the report, which the file's verdict is
			// missing from, and never a nil error, which exits 0. (A
			// hash that ended before it saw the cancel returns none.)
			return fmt.Errorf("verify: --report %s: %w", o.Report, ctx.Err())
		case err != nil:
			// The file (or the ledger's report entries) could not be
			// read: what the ledger's checks found is still said.
			rep.Unchecked = append(rep.Unchecked, verify.Unchecked{Check: verify.CheckReport, Error: strings.TrimPrefix(err.Error(), "verify: ")})
		default:
			rep.ReportFile = &match
			if fail := match.Finding(); fail != nil {
				rep.Findings = append(rep.Findings, *fail)
			}
		}
		rep.Settle()
	}
	if err := printReport(g, &rep); err != nil {
		return err
	}
	switch {
	case len(rep.Findings)+rep.Omitted > 0:
		n := len(rep.Findings) + rep.Omitted
		return withCode(exitFindings, fmt.Errorf("verify: FAILED, %d %s; first: %s", n, plural(n, "finding", "findings"), rep.First()))
	case len(rep.Unchecked) > 0:
		// Not the ledger's integrity: exit 1, as for a file that cannot
		// be read before the ledger is.
		return fmt.Errorf("verify: INCOMPLETE: %s; every check that ran holds", rep.Unchecked[0])
	case rep.ReportFile != nil && rep.ReportFile.IsRecalled():
		r := rep.ReportFile
		return withCode(exitUnsigned, fmt.Errorf("verify: RECALLED: %s is a file of report entry %d, which erasure entry %d lists for recall", r.File, r.Seq, firstRecall(r.Recalled).Erasure))
	case rep.Unsigned != nil:
		return withCode(exitUnsigned, fmt.Errorf("verify: UNSIGNED: %s covered by no signed checkpoint", rep.Unsigned.Range()))
	}
	return nil
}

// firstRecall is the first recall a signed erasure entry makes.
func firstRecall(rs []verify.Recall) verify.Recall {
	for _, r := range rs {
		if r.Signed {
			return r
		}
	}
	return verify.Recall{}
}

// printRecalls says what later erasure entries say of an output (what,
// "report.html" or "production prod-001"): a signed one is the verdict
// RECALLED, one no signed checkpoint covers a warning.
func printRecalls(w io.Writer, what string, rs []verify.Recall) {
	for _, r := range rs {
		if r.Signed {
			fmt.Fprintf(w, "RECALLED %s: %s; its bytes are the ones the ledger records, but it holds, or may hold, content erased since: do not rely on it as it is\n", what, r)
		} else {
			fmt.Fprintf(w, "warn  recall: %s: %s\n", what, r)
		}
	}
}

// keyID is a verifier key's NAME+HASH, what identifies it (its KEY part
// adds nothing a reader compares).
func keyID(key string) string {
	name, rest, _ := strings.Cut(key, "+")
	hash, _, _ := strings.Cut(rest, "+")
	return name + "+" + hash
}

// verifierKeyFrom says where verify's key came from, for its output.
func verifierKeyFrom(flag, ledgerPath string) string {
	switch {
	case flag == "":
		return "the key beside the ledger, " + matter.VerifierKeyPath(ledgerPath)
	case hashchain.IsKeyText(flag):
		return "typed with --key"
	default:
		return "--key " + flag
	}
}

func printReport(g *globalOptions, rep *verify.Report) error {
	if g.jsonOutput() {
		return g.writeJSON(rep)
	}
	w := g.stdout
	fmt.Fprintf(w, "ledger       %s (%s)\n", rep.Ledger, rep.Origin)
	if rep.VerifierKey != "" {
		fmt.Fprintf(w, "key          %s (%s)\n", rep.VerifierKey, rep.VerifierKeyFrom)
	}
	fmt.Fprintf(w, "entries      %d, %d covered by a signed checkpoint\n", rep.Entries, rep.CoveredEntries)
	fmt.Fprintf(w, "checkpoints  %d stored, %d external\n", rep.Checkpoints, rep.ExternalCheckpoints)
	fmt.Fprintf(w, "root         %s\n", rep.Root)
	fmt.Fprintf(w, "chain head   %s\n", rep.ChainHead)
	if r := rep.Evidence; r != nil {
		unref := strconv.Itoa(r.Unreferenced) + " unreferenced"
		if r.UnreferencedAltered > 0 {
			unref += fmt.Sprintf(" (%d of them altered)", r.UnreferencedAltered)
		}
		if r.Stopped {
			// The store was not listed: no count for what was not
			// checked (review-commits7 L2).
			unref = "unreferenced not checked"
		}
		var notChecked string
		switch {
		case r.Stopped:
			// What it reached: the rest is unchecked (ERROR below).
			notChecked = fmt.Sprintf(", %d not checked (the check stopped early)", r.NotChecked)
		case r.NotChecked > 0 && r.Unjudged > 0:
			// Absent, and the ledger could not be read again to judge
			// them against the erasures (ERROR below): not unreadable.
			why := fmt.Sprintf("%d absent, not judged against the erasures", r.Unjudged)
			if n := r.NotChecked - r.Unjudged; n > 0 {
				why = fmt.Sprintf("%d unreadable, %s", n, why)
			}
			notChecked = fmt.Sprintf(", %d not checked (%s)", r.NotChecked, why)
		case r.NotChecked > 0:
			notChecked = fmt.Sprintf(", %d not checked (unreadable)", r.NotChecked)
		}
		fmt.Fprintf(w, "evidence     %d objects referenced, %d re-hashed in %s: %d missing, %d altered%s, %s; %d checkpoint %s checked\n",
			r.Referenced, r.Referenced-r.Missing-r.Erased-r.NotChecked, r.Store, r.Missing, r.Altered, notChecked, unref, r.CheckpointCopies, plural(r.CheckpointCopies, "copy", "copies"))
		if r.Erased > 0 || len(r.ErasedConversations)+len(r.ErasedMessages) > 0 {
			fmt.Fprintf(w, "erased       %d objects deleted by erasure entries a signed checkpoint vouches for (not missing; entries %s); conversations: %s; messages: %s\n",
				r.Erased, seqList(r.ErasureEntries), listOrNone(r.ErasedConversations), listOrNone(r.ErasedMessages))
		}
	}
	if d := rep.Derived; d != nil {
		fmt.Fprintf(w, "derived      %s\n", d)
	}
	for _, t := range rep.CheckpointTimes {
		fmt.Fprintf(w, "time         checkpoint %s (size %d) %s\n", t.Checkpoint, t.Size, timeLine(t))
	}
	for _, ws := range rep.Witnessed {
		if len(ws.Witnesses) == 0 {
			continue // the failure, if the latest, says so
		}
		fmt.Fprintf(w, "witnessed    checkpoint %s (size %d) by %d: %s\n", ws.Checkpoint, ws.Size, len(ws.Witnesses), strings.Join(ws.Witnesses, ", "))
	}
	if r := rep.ReportFile; r != nil && r.Found {
		fmt.Fprintf(w, "report       %s is %s of report %s (seq %d), SHA-256 %s\n", r.File, r.Name, r.RunID, r.Seq, r.SHA256)
	}
	if c := rep.EraseCutShort; c != nil {
		fmt.Fprintf(w, "warn  %s\n", c)
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "FAIL  %s\n", f)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(w, "FAIL  … and %d more\n", rep.Omitted)
	}
	for _, f := range rep.Warnings {
		fmt.Fprintf(w, "warn  %s\n", f)
	}
	for _, u := range rep.Unchecked {
		fmt.Fprintf(w, "ERROR %s\n", u)
	}
	if r := rep.ReportFile; r != nil && r.Found {
		printRecalls(w, r.File, r.Recalled)
	}
	switch u := rep.Unsigned; {
	case rep.OK:
		fmt.Fprintln(w, "OK    every check holds")
	case len(rep.Unchecked) > 0 && len(rep.Findings)+rep.Omitted == 0:
		fmt.Fprintf(w, "INCOMPLETE every check that ran holds, but %s (ERROR above)\n", notMade(rep))
		if u != nil {
			fmt.Fprintf(w, "warn  unsigned: %s\n", u)
		}
	case u != nil && rep.Holds():
		fmt.Fprintf(w, "UNSIGNED every check that ran holds, but %s\n", u)
	case u != nil:
		fmt.Fprintf(w, "warn  unsigned: %s\n", u)
	}
	return nil
}

// notMade says what the INCOMPLETE line leaves unchecked: each check
// named once, the evidence by the objects given no verdict, not by how
// many ERROR lines there are (review-commits7 L1: "7 could not be made"
// where 22,765 objects went unchecked).
func notMade(rep *verify.Report) string {
	var parts []string
	seen := map[string]bool{}
	for _, u := range rep.Unchecked {
		if seen[u.Check] {
			continue
		}
		seen[u.Check] = true
		switch r := rep.Evidence; {
		case u.Check == verify.CheckEvidence && r != nil && r.NotChecked > 0:
			p := fmt.Sprintf("the evidence of %d of the %d objects referenced could not be checked", r.NotChecked, r.Referenced)
			if r.Unjudged > 0 {
				// The store gave its answer; the ledger, read again to
				// judge it, did not.
				p += fmt.Sprintf(" (%d absent from the store, whether erased not judged: the ledger could not be read again)", r.Unjudged)
			}
			if r.Stopped {
				p += ", the check having stopped early"
			}
			parts = append(parts, p)
		case u.Check == verify.CheckEvidence:
			parts = append(parts, "the evidence check could not be completed")
		default:
			parts = append(parts, "the "+u.Check+" check could not be made")
		}
	}
	return strings.Join(parts, "; ")
}

// readCheckpointFiles reads the --checkpoint files of cmdName, before
// any work: one missing or unreadable is an error (exit 1), one that is
// no signed checkpoint at all (not a signed note, or a note whose text
// is no checkpoint: a key, a proof, any other file) a usage error (exit
// 2), as a --key or --witness file that holds no key is. Only a
// checkpoint whose signature or tree then fails is a finding (exit 3).
func readCheckpointFiles(cmdName string, names []string) ([]verify.ExternalCheckpoint, error) {
	var external []verify.ExternalCheckpoint
	for _, name := range names {
		note, err := fsinfo.ReadRegular(name, maxArgFile)
		if err != nil {
			return nil, fmt.Errorf("%s: --checkpoint: %w", cmdName, err)
		}
		if _, err := hashchain.ParseSignedCheckpoint(verify.CheckpointFileNote(note)); err != nil {
			return nil, usageError("%s: --checkpoint %s: %v", cmdName, name, err)
		}
		external = append(external, verify.ExternalCheckpoint{Name: name, Note: note})
	}
	return external, nil
}

func runVerifyProof(o *verifyOptions, g *globalOptions) error {
	key, err := matter.ReadVerifierKey(o.Key, g.Ledger)
	if err != nil {
		return matterError(fmt.Errorf("verify: %w", err))
	}
	if key == "" {
		return usageError("verify: --proof needs the ledger's verifier key: --key KEY or --key FILE")
	}
	if o.Key == "" {
		// A proof checked with the key beside the custodian's ledger
		// proves only that the custodian agrees with itself: say which
		// key was used, so that an auditor brings their own copy. With
		// no ledger there it is no custodian's copy: for a proof of a
		// production (proofs/N.proof.json, production.proof.json), maybe
		// the production's own custody.pub.
		_, err := os.Stat(g.Ledger)
		dir := filepath.Dir(o.Proof)
		g.note(defaultKeyNote("proof", g.Ledger, err == nil,
			filepath.Join(dir, production.VerifierKeyFile), filepath.Join(filepath.Dir(dir), production.VerifierKeyFile)))
	}
	data, err := fsinfo.ReadRegular(o.Proof, maxArgFile)
	if err != nil {
		return fmt.Errorf("verify: --proof: %w", err)
	}
	res, err := leaf.VerifyProof(data, key)
	if err != nil {
		return withCode(exitFindings, fmt.Errorf("verify: proof %s does not hold: %w", o.Proof, err))
	}
	att, err := proofAttestations(o, data)
	if err != nil {
		return err
	}
	e := res.Entry
	fields := map[string]json.RawMessage{}
	for _, f := range res.Fields {
		fields[f.Name] = f.Value
	}
	if g.jsonOutput() {
		out := map[string]any{
			"ok":        true,
			"proof":     o.Proof,
			"origin":    res.Checkpoint.Origin,
			"tree_size": res.Checkpoint.Size,
			"root":      res.Checkpoint.Root.String(),
			"seq":       e.Seq,
			"leaf_hash": e.LeafHash.String(),
			"leaf":      json.RawMessage(e.Leaf),
			"proven_at": att.time,
			"witnesses": att.witnesses,
		}
		if len(res.Fields) > 0 {
			out["fields"] = fields
		}
		return g.writeJSON(out)
	}
	fmt.Fprintf(g.stdout, "OK    entry %d of the %d-entry ledger %s (root %s)\n", e.Seq, res.Checkpoint.Size, res.Checkpoint.Origin, res.Checkpoint.Root)
	if att.time != nil {
		fmt.Fprintf(g.stdout, "time  the checkpoint %s\n", timeLine(*att.time))
	}
	if len(att.witnesses) > 0 {
		fmt.Fprintf(g.stdout, "witnessed by %d: %s\n", len(att.witnesses), strings.Join(att.witnesses, ", "))
	}
	fmt.Fprintf(g.stdout, "entry %s\n", formatEntry(e))
	for _, f := range res.Fields {
		how := "in clear in the leaf"
		if f.Salt != nil {
			how = "opens the leaf's salted commitment"
		}
		fmt.Fprintf(g.stdout, "field %s = %s (%s)\n", f.Name, f.Value, how)
	}
	return nil
}

// timeLine says when a checkpoint existed by, after "checkpoint NAME":
// proven only when its token chains to the roots given to verify
// (--tsa-roots); otherwise the time its token claims, and which roots,
// if any, it was chained to.
func timeLine(t verify.CheckpointTime) string {
	at := t.ProvenAt.Format(time.RFC3339)
	switch {
	case t.Chained:
		return fmt.Sprintf("existed by %s (%s; chained to a trusted root)", at, t.TSA)
	case t.Roots == verify.RootsMatter:
		return fmt.Sprintf("existed by %s as its token claims, not proven (%s; chained only to roots the matter names, not independently trusted: pass --tsa-roots)", at, t.TSA)
	}
	return fmt.Sprintf("existed by %s as its token claims, not proven (%s; signature only, no roots given: pass --tsa-roots)", at, t.TSA)
}

// proofAttestation is what a proof file's timestamps and cosignatures
// show, checked.
type proofAttestation struct {
	time      *verify.CheckpointTime
	witnesses []string
	// timeChecked: every token verified (time is what they prove),
	// whether or not the witness check then failed.
	timeChecked bool
}

// proofAttestations checks the tokens a proof carries (against
// --tsa-roots when given) and the cosignatures of the --witness keys on
// its checkpoint; a token or cosignature that does not verify, or fewer
// cosignatures than the threshold, fails the proof (exit 3).
func proofAttestations(o *verifyOptions, data []byte) (proofAttestation, error) {
	var out proofAttestation
	parse := leaf.ParseProof
	if leaf.IsTlogProof(data) {
		parse = leaf.ParseTlogProof
	}
	p, err := parse(data)
	if err != nil {
		return out, withCode(exitFindings, fmt.Errorf("verify: proof %s: %w", o.Proof, err))
	}
	var roots *x509.CertPool
	if o.TSARoots != "" {
		if roots, _, err = readRoots("verify", o.TSARoots); err != nil {
			return out, err
		}
	}
	imprint := tsa.Imprint(leaf.LedgerNote(p.Checkpoint))
	for _, t := range p.Timestamps {
		tok, err := tsa.Verify(t.Token, imprint, roots)
		if err != nil {
			return out, withCode(exitFindings, fmt.Errorf("verify: proof %s: timestamp: the token from %s does not prove the checkpoint's time: %w", o.Proof, redact.URL(t.TSA), err))
		}
		if out.time == nil || tok.Time.Before(out.time.ProvenAt) {
			src := verify.RootsNone
			if tok.Chained {
				src = verify.RootsGiven
			}
			out.time = &verify.CheckpointTime{Checkpoint: "proof", Size: p.TreeSize, ProvenAt: tok.Time, TSA: redact.URL(t.TSA), Chained: tok.Chained, Roots: src, Tokens: len(p.Timestamps)}
		}
	}
	out.timeChecked = true
	if len(o.Witnesses) == 0 {
		return out, nil
	}
	if o.WitnessThreshold < 0 || o.WitnessThreshold > len(o.Witnesses) {
		return out, usageError("verify: --witness-threshold must be between 1 and the number of --witness keys (%d)", len(o.Witnesses))
	}
	var vs []note.Verifier
	for _, w := range o.Witnesses {
		k, err := readWitnessKey(w)
		if err != nil {
			return out, err
		}
		v, err := witness.NewVerifier(k)
		if err != nil {
			return out, usageError("verify: --witness %s: not a witness verifier key: %v", w, err)
		}
		vs = append(vs, v)
	}
	names, err := verify.Cosigners(p.Checkpoint, nil, vs)
	if err != nil {
		return out, withCode(exitFindings, fmt.Errorf("verify: proof %s: witness: a cosignature does not verify: %w", o.Proof, err))
	}
	need := o.WitnessThreshold
	if need == 0 {
		need = len(vs)
	}
	if len(names) < need {
		return out, withCode(exitFindings, fmt.Errorf("verify: proof %s: witness: the checkpoint has %d of the %d witness cosignatures required", o.Proof, len(names), need))
	}
	out.witnesses = names
	return out, nil
}

// verifyProgress shows how far Verify got: a bar on a terminal, a log line
// every few seconds otherwise.
type verifyProgress struct {
	g       *globalOptions
	start   time.Time
	lastLog time.Time
	bar     *progressbar.ProgressBar
}

const verifyLogEvery = 5 * time.Second

func newVerifyProgress(g *globalOptions) *verifyProgress {
	now := time.Now()
	return &verifyProgress{g: g, start: now, lastLog: now}
}

func (p *verifyProgress) update(done, total uint64) {
	if stderrIsTerminal(p.g) && p.g.LogFormat == "text" {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(int64(total),
				progressbar.OptionSetWriter(p.g.stderr),
				progressbar.OptionSetDescription("verify"),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = p.bar.Set64(int64(done))
		return
	}
	if now := time.Now(); now.Sub(p.lastLog) >= verifyLogEvery && done < total {
		p.lastLog = now
		rate := float64(done) / now.Sub(p.start).Seconds()
		eta := time.Duration(float64(total-done) / rate * float64(time.Second))
		p.g.log.Info("verify progress", "done", done, "total", total, "entries_per_s", int(rate), "eta", eta.Round(time.Second).String())
	}
}

func (p *verifyProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listOrNone joins ids, or says none.
func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// seqList is listOrNone for entry seqs.
func seqList(seqs []uint64) string {
	ids := make([]string, len(seqs))
	for i, s := range seqs {
		ids[i] = strconv.FormatUint(s, 10)
	}
	return listOrNone(ids)
}

// The collector's settings while verify --evidence re-derives (see
// runVerify): the heap may grow to four times what is live until that
// reaches the limit (a live heap of 192 MB), then to the limit, then to
// twice what is live. 768 MiB rather than 256: on a matter of 792,497
// objects (155 MB live) a 256 MiB limit held the heap to twice what is
// live, and verify took 8 % more CPU and wall time than at four times
// (docs/benchmarks.md, "eighth stop"), for a peak RSS of 342 MiB instead
// of 664. Where the process may use less than twice that (its cgroup's
// limit, else the machine's memory), the limit starts at half of what it
// may use, so that a small container is not filled before the collector
// runs.
const (
	verifyGCPercent   = 300
	verifyMemoryLimit = 768 << 20
)
