package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/verify"
)

type verifyOptions struct {
	Key         string
	Checkpoints []string
	Proof       string
	Production  string
	ev          evidenceOptions // --evidence given: re-hash the evidence too
}

func (o *verifyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Key, "key", "", "verifier key, or a file holding it (default: the .pub file beside the ledger, the custodian's own copy: an auditor passes their own)")
	fs.StringArrayVar(&o.Checkpoints, "checkpoint", nil, "a signed checkpoint kept outside the ledger that it must still agree with (repeatable)")
	fs.StringVar(&o.Proof, "proof", "", "check this proof file offline, with --key and no ledger")
	fs.StringVar(&o.Production, "production", "", "check a production folder from 'custody produce': every file, the manifest, every proof")
	o.ev.AddFlags(fs, false)
	fs.Lookup("evidence").Usage = "also re-hash every evidence object the ledger references, in this store (a folder, file://DIR or s3://bucket/prefix) or, bare, the matter's own; report missing, altered and unreferenced ones"
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
It names the first failing sequence number or checkpoint and what failed.
One break is one finding: what follows from it (every entry after a
deleted one, the checkpoints over an altered one) is counted on it, not
listed.

With --evidence it also re-hashes every evidence object the ledger
references, in the matter's own store (bare --evidence) or in another
(--evidence LOC: a copy, a mirror), and reports missing, altered and
unreferenced objects. It also re-derives every field a leaf took from
its evidence (message and conversation ids, timestamp, sender, recipient,
direction, content hash, legal hold, audit references, payload hash) and
reports each difference as a "derived" failure naming the seq and the
field: a leaf rewritten and re-signed by someone holding the key.

Verify opens everything read-only and records nothing.

Take the verifier key from somewhere the ledger's custodian cannot
rewrite: whoever can change the ledger can change custody.pub beside it.

With --production DIR it checks a production from 'custody produce':
every file against the production's manifest (and no file beside them),
the manifest's hash against the production ledger entry (proved by
production.proof.json, and found in the ledger when there is one), the
signed checkpoint, and every message's proof. Each failure names the file.
Without a ledger or --key it uses the production's own custody.pub, and
says so: that proves only that the production agrees with itself.

With --proof FILE it checks a proof file from 'custody prove' offline:
no ledger is opened, only the proof and --key are needed.

On large ledgers it shows progress on stderr (a bar on a terminal, a log
line every few seconds otherwise). --output json prints the full report.

Examples:
  custody verify --key matter-42.pub --checkpoint counsel-2024-05-01.checkpoint
  custody verify --evidence
  custody verify --evidence s3://mirror/matter-42 --s3-region eu-west-1
  custody verify --proof msg-2f0c.proof.json --key matter-42.pub
  custody verify --production prod-001 --key matter-42.pub
` + exitStatus("0    every check holds",
			`1    it could not verify for another reason: a file missing or
       unreadable, a file that is not a custody ledger, no verifier key
       for a ledger with checkpoints`,
			"2    usage error (a signer key given as --key, --proof with --checkpoint)",
			`3    the ledger (or proof, or production) failed a check, the first failure named on
       stderr: any finding, a verifier key of another ledger or signatures
       that fail with it, a ledger rebuilt under another identity, a
       ledger file SQLite reports damaged`,
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
		return runVerifyProof(o, g)
	}
	if o.Production != "" {
		if len(o.Checkpoints) > 0 || o.ev.given {
			return usageError("verify: --production checks a production folder; it does not take --checkpoint or --evidence")
		}
		return runVerifyProduction(ctx, o, g)
	}
	var external []verify.ExternalCheckpoint
	for _, name := range o.Checkpoints {
		note, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("verify: --checkpoint: %w", err)
		}
		external = append(external, verify.ExternalCheckpoint{Name: name, Note: note})
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
	opts := verify.Options{VerifierKey: key, External: external}
	if o.ev.given {
		// Evidence re-hashing: the matter's own store (bare --evidence)
		// or the one named; the matter closes it.
		if opts.Evidence, err = evidenceStore(ctx, m); err != nil {
			return fmt.Errorf("verify: evidence: %w", err)
		}
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
	if err := printReport(g, &rep); err != nil {
		return err
	}
	if !rep.OK {
		n := len(rep.Findings) + rep.Omitted
		return withCode(exitFindings, fmt.Errorf("verify: FAILED, %d %s; first: %s", n, plural(n, "finding", "findings"), rep.First()))
	}
	return nil
}

func printReport(g *globalOptions, rep *verify.Report) error {
	if g.jsonOutput() {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := g.stdout
	fmt.Fprintf(w, "ledger       %s (%s)\n", rep.Ledger, rep.Origin)
	fmt.Fprintf(w, "entries      %d, %d covered by a signed checkpoint\n", rep.Entries, rep.CoveredEntries)
	fmt.Fprintf(w, "checkpoints  %d stored, %d external\n", rep.Checkpoints, rep.ExternalCheckpoints)
	fmt.Fprintf(w, "root         %s\n", rep.Root)
	fmt.Fprintf(w, "chain head   %s\n", rep.ChainHead)
	if r := rep.Evidence; r != nil {
		fmt.Fprintf(w, "evidence     %d objects referenced, %d re-hashed in %s: %d missing, %d altered, %d unreferenced\n",
			r.Referenced, r.Referenced-r.Missing, r.Store, r.Missing, r.Altered, r.Unreferenced)
	}
	if d := rep.Derived; d != nil {
		fmt.Fprintf(w, "derived      %s\n", d)
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
	if rep.OK {
		fmt.Fprintln(w, "OK    every check holds")
	}
	return nil
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
		// key was used, so that an auditor brings their own copy.
		g.note(fmt.Sprintf("checking the proof with %s, the verifier key beside the ledger (the custodian's own copy); an auditor should pass --key with a copy of the key obtained independently", matter.VerifierKeyPath(g.Ledger)))
	}
	data, err := os.ReadFile(o.Proof)
	if err != nil {
		return fmt.Errorf("verify: --proof: %w", err)
	}
	res, err := leaf.VerifyProof(data, key)
	if err != nil {
		return withCode(exitFindings, fmt.Errorf("verify: proof %s does not hold: %w", o.Proof, err))
	}
	e := res.Entry
	if g.jsonOutput() {
		return json.NewEncoder(g.stdout).Encode(map[string]any{
			"ok":        true,
			"proof":     o.Proof,
			"origin":    res.Checkpoint.Origin,
			"tree_size": res.Checkpoint.Size,
			"root":      res.Checkpoint.Root.String(),
			"seq":       e.Seq,
			"leaf_hash": e.LeafHash.String(),
			"leaf":      json.RawMessage(e.Leaf),
		})
	}
	fmt.Fprintf(g.stdout, "OK    entry %d of the %d-entry ledger %s (root %s)\n", e.Seq, res.Checkpoint.Size, res.Checkpoint.Origin, res.Checkpoint.Root)
	fmt.Fprintf(g.stdout, "entry %s\n", formatEntry(e))
	return nil
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
