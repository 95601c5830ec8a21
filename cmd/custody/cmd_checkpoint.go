package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/redact"
	"github.com/custodyhq/custody/internal/tsa"
)

type checkpointOptions struct {
	Key              string
	Out              string
	TSA              []string
	TSARoots         string
	TimestampMissing bool
	Witness          []string
	RemoveTSA        []string
	RemoveWitness    []string
	Erasure          uint64
	erasureSet       bool // --erasure was given (0 is a seq)
}

func (o *checkpointOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Key, "key", "", "signer key file (default: the .key file beside the ledger)")
	fs.StringVar(&o.Out, "out", "", "also write the signed checkpoint to this file (refuses to overwrite)")
	fs.StringArrayVar(&o.TSA, "tsa", nil, "an RFC 3161 timestamp authority's URL; kept in the matter's settings, so every later checkpoint (export, diff, refetch, …) is timestamped by it too (repeatable)")
	fs.StringVar(&o.TSARoots, "tsa-roots", "", "PEM bundle of the roots the authorities' tokens must chain to; kept in the matter's settings")
	fs.BoolVar(&o.TimestampMissing, "timestamp-missing", false, "sign nothing new: ask the authorities for the tokens stored checkpoints lack (one was down, or added later)")
	fs.StringArrayVar(&o.Witness, "witness", nil, "a witness's URL (C2SP tlog-witness add-checkpoint); kept in the matter's settings, so every later checkpoint is sent to it too (repeatable)")
	fs.StringArrayVar(&o.RemoveTSA, "remove-tsa", nil, "take a timestamp authority off the matter's settings (one it names), recorded in the ledger: no later checkpoint is sent to it; the tokens it gave stay and still verify (repeatable)")
	fs.StringArrayVar(&o.RemoveWitness, "remove-witness", nil, "take a witness off the matter's settings (one it names), recorded in the ledger: no later checkpoint is sent to it; the cosignatures it gave stay and still verify (repeatable)")
	fs.Uint64Var(&o.Erasure, "erasure", 0, "vouch for the erasure entry at this seq: the checkpoint carries the line \"erasure SEQ\", which makes verify --evidence count the objects the entry lists as erased, not missing (custody erase does this when it has the key)")
}

func newCheckpointCommand(g *globalOptions) *cobra.Command {
	o := &checkpointOptions{}
	cmd := &cobra.Command{
		Use:   "checkpoint [--key FILE] [--out FILE] [--erasure SEQ] [--tsa URL]... [--witness URL]... [--remove-tsa URL]... [--remove-witness URL]... | checkpoint --timestamp-missing",
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

Erasures: a checkpoint covers whatever the ledger holds, and an erasure
entry is as easy to append as any other, so a routine checkpoint says
nothing about whether an erasure is genuine. --erasure SEQ signs a
checkpoint whose note also carries the line "erasure SEQ": the key's
holder vouching for the erasure entry at SEQ, which is what makes
'custody verify --evidence' count the objects it deleted as erased
rather than missing. 'custody erase' signs one itself when it has the
key; this is for an erasure recorded without it, after checking that it
was genuine. It is signed even when the latest checkpoint already covers
the whole ledger. Before signing it prints on stderr what it vouches for
(JSON: the erasure member): the entry's reason, who and when, the
conversations and messages erased, which were under legal hold (and the
--override-hold reason), the objects deleted and kept. It asks nothing.

Timestamps: with --tsa URL (kept in the matter's settings, like
--tsa-roots), each new checkpoint — this command's and the one closing
every export, diff, refetch — is sent to each authority, which returns an
RFC 3161 token over SHA-256 of the signed note; the token is checked and
stored beside the checkpoint (when nothing new is signed, the latest
checkpoint is sent to the authorities it has no token from). An authority
that fails does not lose the checkpoint: the gap is recorded, verify
warns about it, and 'custody checkpoint --timestamp-missing' fills it
later.

Witnesses: with --witness URL (kept in the matter's settings too) each
new checkpoint — and the latest when nothing new is signed — is sent to
each witness (the C2SP tlog-witness add-checkpoint API, 'custody witness
serve') with a consistency proof from the last checkpoint the witness
saw; its cosignature is kept beside the checkpoint and printed after the
note. When nothing new is signed, a witness whose cosignature of the
latest checkpoint is already stored is not asked again. A witness that
refuses is warned about (exit 1 here); the checkpoint stands.

Taking one off: --remove-tsa URL and --remove-witness URL (repeatable)
take an authority or witness the matter names off its settings — a dead
or retired one — before the checkpoint is signed, so neither it nor any
later checkpoint is sent to it. The removal is a ledger entry (kind
"settings": what was removed, what is left, by whom, each URL without
user info, query or fragment), made in the transaction that signs the
checkpoint covering it — nothing is removed when no checkpoint is
signed — so an auditor sees when it was taken off ('custody log --kind
settings'). A URL is named as added or as custody shows it
("https://[REDACTED]@host/?[REDACTED]": an older custody accepted URLs
with secrets, which checkpoint warns about; replace such a one with
--remove-tsa/--remove-witness and --tsa/--witness). With
--timestamp-missing, which signs nothing, they are a usage error. The tokens and cosignatures it gave
stay beside their checkpoints and verify as before: 'verify --tsa-roots'
still proves their times. A witness's cosignatures are checked by
'verify --witness' with its key; once later checkpoints go without it,
give verify the keys of the witnesses that remain (or
--witness-threshold), as the latest checkpoint is not cosigned by it. A
URL the matter does not name is a usage error (exit 2) naming those it
does; naming one in both --tsa and --remove-tsa (or --witness and
--remove-witness) is one too.

Examples:
  custody checkpoint
  custody checkpoint --out matter-42-$(date +%F).checkpoint
  custody checkpoint --tsa https://freetsa.org/tsr --tsa-roots freetsa-root.pem
  custody checkpoint --timestamp-missing
  custody checkpoint --witness http://counsel.example:7380
  custody checkpoint --remove-tsa http://127.0.0.1:39127/
  custody checkpoint --remove-witness http://old-witness.example:7380 --witness https://witness.example
  custody checkpoint --erasure 1234
` + exitStatus(exit0,
			`1    error (bad input, I/O; the message says which); a witness refused
       (the checkpoint was signed and stored, or with no new entries the
       latest one stands: the message says which); with
       --timestamp-missing, a token is still missing`, exit2,
			"3    the ledger contradicts itself or is damaged: nothing was signed",
			"130  cancelled (Ctrl-C), e.g. while a witness is asked: a checkpoint already signed is stored"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.erasureSet = cmd.Flags().Changed("erasure")
			return runCheckpoint(cmd.Context(), o, g)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runCheckpoint(ctx context.Context, o *checkpointOptions, g *globalOptions) error {
	for _, u := range o.TSA {
		if err := tsa.CheckURL(u); err != nil {
			return usageError("checkpoint: --tsa: %v", err)
		}
	}
	for _, u := range o.Witness {
		if err := matter.CheckWitnessURL(u); err != nil {
			return usageError("checkpoint: --witness: %v", err)
		}
	}
	for _, c := range []struct {
		flag    string
		add, rm []string
	}{{"tsa", o.TSA, o.RemoveTSA}, {"witness", o.Witness, o.RemoveWitness}} {
		for _, u := range c.rm {
			if slices.Contains(c.add, u) {
				return usageError("checkpoint: --%s and --remove-%s both name %s", c.flag, c.flag, u)
			}
		}
	}
	removal := matter.Removal{TSAs: o.RemoveTSA, Witnesses: o.RemoveWitness}
	if o.TimestampMissing {
		if o.erasureSet {
			return usageError("checkpoint: --erasure signs a checkpoint; --timestamp-missing signs nothing")
		}
		if !removal.Empty() {
			// A removal is recorded by an entry, which only a checkpoint
			// covers: --timestamp-missing signs none.
			return usageError("checkpoint: --remove-tsa and --remove-witness sign a checkpoint; --timestamp-missing signs nothing (remove first, then ask for the missing timestamps)")
		}
	}
	var rootsPEM []byte
	if o.TSARoots != "" {
		var err error
		if _, rootsPEM, err = readRoots("checkpoint", o.TSARoots); err != nil {
			return err
		}
	}
	m, err := openMatter(ctx, g, matter.Options{SignerKey: o.Key})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer m.Close()
	// Everything that can refuse is checked before anything changes: a
	// usage error (exit 2) leaves the matter as it was, and a removal is
	// made only in the transaction that signs the checkpoint covering it.
	if o.TimestampMissing && len(o.TSA) == 0 {
		if urls, err := m.TSAs(ctx); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		} else if len(urls) == 0 {
			return usageError("checkpoint: --timestamp-missing: the matter has no timestamp authority: give --tsa URL")
		}
	}
	var key string
	for _, c := range []struct {
		flag string
		r    matter.Removal
	}{{"--remove-tsa", matter.Removal{TSAs: o.RemoveTSA}}, {"--remove-witness", matter.Removal{Witnesses: o.RemoveWitness}}} {
		if c.r.Empty() {
			continue
		}
		if err := m.CheckRemoval(ctx, c.r); err != nil {
			return settingsError(c.flag, err)
		}
	}
	if !o.TimestampMissing {
		if key, err = m.SignerKey(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if o.Out != "" {
			if _, err := os.Lstat(o.Out); err == nil {
				return fmt.Errorf("checkpoint: %s already exists; refusing to overwrite it", o.Out)
			}
		}
	}
	if rootsPEM != nil {
		if err := m.SetTSARoots(ctx, rootsPEM); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := m.AddTSAs(ctx, o.TSA); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := m.AddWitnesses(ctx, o.Witness); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if o.TimestampMissing {
		return runTimestampMissing(ctx, m, g)
	}
	prev, hadPrev, err := m.Ledger.LatestCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var erasure *uint64
	var vouched *erase.ErasureSummary
	if o.erasureSet {
		erasure = &o.Erasure
		// What is vouched for, shown before it is signed: the vouch is
		// what turns the objects the entry deleted from missing into
		// erased. No prompt: scripts run this.
		if vouched, err = erase.SummarizeErasure(ctx, m.Ledger, o.Erasure); err != nil {
			return fmt.Errorf("checkpoint: --erasure %d: %w; nothing was signed", o.Erasure, err)
		}
		if !g.jsonOutput() {
			writeErasureSummary(g.stderr, vouched)
		}
	}
	var cp ledger.StoredCheckpoint
	switch {
	case !removal.Empty():
		cp, err = m.CheckpointRemoving(ctx, key, erasure, removal)
	case erasure != nil:
		cp, err = m.Ledger.CheckpointErasure(ctx, key, *erasure)
	default:
		cp, err = m.Ledger.Checkpoint(ctx, key)
	}
	if err != nil {
		if errors.Is(err, ledger.ErrInconsistent) {
			return fmt.Errorf("checkpoint: %w; nothing was signed (run 'custody verify' for the full list)", err)
		}
		return settingsError("--remove-tsa/--remove-witness", err)
	}
	stamps := m.LastTimestamps()
	if stamps == nil {
		// Nothing new was signed: the latest checkpoint still gets a
		// token from an authority it has none from (one just added).
		if stamps, err = m.TimestampMissing(ctx, cp.ID); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	signedNew := !hadPrev || cp.ID != prev.ID
	cosigns := m.LastCosignatures()
	if !signedNew {
		// Nothing new was signed: the latest checkpoint still goes to
		// the witnesses that have not cosigned it (one just added, or
		// one that refused before).
		cosigns = m.Cosign(ctx, cp, nil)
	}
	var werrs []error
	for _, c := range cosigns {
		if c.Err != nil {
			werr := c.Err
			if shown := redact.URL(c.Witness); !strings.HasPrefix(werr.Error(), "witness "+shown+": ") {
				werr = fmt.Errorf("witness %s: %w", shown, werr)
			}
			werrs = append(werrs, werr)
		}
	}
	werr := errors.Join(werrs...)
	// The note as kept: with every cosignature stored for it.
	if cos, err := m.Ledger.Cosignatures(ctx); err == nil {
		for _, c := range cos {
			if c.CheckpointID == cp.ID {
				cp.Note = append(cp.Note, c.Signature...)
			}
		}
	}
	if o.Out != "" {
		if err := matter.WriteNew(o.Out, cp.Note, 0o644); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if g.jsonOutput() {
		if err := g.writeJSON(map[string]any{
			"id":         cp.ID,
			"origin":     cp.Origin,
			"size":       cp.Size,
			"root":       cp.Root.String(),
			"note":       string(cp.Note),
			"timestamps": timestampsJSON(stamps),
			"witnesses":  cosignsJSON(cosigns),
			"erasure":    vouched, // null without --erasure
		}); err != nil {
			return err
		}
	} else if _, err = g.stdout.Write(cp.Note); err != nil {
		return err
	}
	switch {
	case werr != nil && !signedNew:
		return fmt.Errorf("checkpoint: no new entries: checkpoint #%d is the latest; %w", cp.ID, werr)
	case werr != nil:
		return fmt.Errorf("checkpoint: signed and stored checkpoint #%d, but %w", cp.ID, werr)
	}
	return nil
}

// writeErasureSummary says what checkpoint --erasure vouches for: the
// erasure entry's reason, who and when, what it erased, which of it was
// under legal hold (and the override's reason), and its objects (each
// diff whose findings objects it deleted among them). The
// entry's texts are shown as the diff shows an export's ids: no escape
// sequence or line break of their own.
func writeErasureSummary(w io.Writer, s *erase.ErasureSummary) {
	safe := exportfile.SafeDisplay
	some := func(ids []string) string {
		const most = 10
		if len(ids) > most {
			return strings.Join(ids[:most], ", ") + fmt.Sprintf(", … and %d more", len(ids)-most)
		}
		return listOrNone(ids)
	}
	fmt.Fprintf(w, "vouching for erasure entry %d: recorded %s by %s, reason %q\n", s.Seq, s.At.UTC().Format(time.RFC3339), safe(orUnknown(s.Operator)), safe(s.Reason))
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s "+format+"\n", append([]any{label}, args...)...)
	}
	line("erased whole", "%d %s: %s", len(s.Conversations), plural(len(s.Conversations), "conversation", "conversations"), some(s.Conversations))
	line("erased in part", "%d %s: %s", len(s.Partial), plural(len(s.Partial), "conversation", "conversations"), some(s.Partial))
	line("messages", "%d erased", len(s.Messages))
	for _, h := range s.Held {
		var why []string
		if h.DeletionProtection {
			why = append(why, "deletion protection at capture")
		}
		if h.MatterHold != nil {
			why = append(why, fmt.Sprintf("matter hold entry %d: %s", h.MatterHold.Seq, safe(h.MatterHold.Reason)))
		}
		line("under hold", "%s (%s): erased under --override-hold %q", h.Conversation, strings.Join(why, "; "), safe(s.OverrideHold))
	}
	if len(s.Held) == 0 && s.OverrideHold != "" {
		line("override", "--override-hold %q", safe(s.OverrideHold))
	}
	line("objects", "%d deleted (%d of them unreferenced), %d kept", s.ObjectsDeleted, s.Unreferenced, len(s.Kept))
	for _, k := range s.Kept {
		line("kept", "%s: %s", k.Object, safe(k.Why))
	}
	// Among the objects deleted: vouching makes them erased, and the
	// diff can no longer be read whole.
	for _, d := range s.Diffs {
		line("diff", "entry %d, run %s: %d findings %s deleted", d.Seq, safe(d.RunID), len(d.Findings), plural(len(d.Findings), "object", "objects"))
	}
	if s.Collateral > 0 {
		line("collateral", "%d messages lost their response bodies", s.Collateral)
	}
	if s.Outputs > 0 {
		line("recall", "%d recorded %s hold, or may hold, what it erased", s.Outputs, plural(s.Outputs, "production or report", "productions and reports"))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(operator not recorded)"
	}
	return s
}

// settingsError is the error of a --remove-tsa or --remove-witness: a URL
// the matter does not name is a usage error (exit 2) that names those it
// does, and so is one given as shown that names several; nothing was
// removed.
func settingsError(flag string, err error) error {
	if errors.Is(err, matter.ErrNotConfigured) || errors.Is(err, matter.ErrAmbiguous) {
		return usageError("checkpoint: %s: %v", flag, err)
	}
	return fmt.Errorf("checkpoint: %w", err)
}

// readRoots reads a --tsa-roots bundle: a file that cannot be read is
// exit 1, one that is not a PEM bundle of certificates a usage error.
func readRoots(cmdName, file string) (*x509.CertPool, []byte, error) {
	pool, data, err := tsa.ReadRoots(file)
	var pe *fs.PathError
	switch {
	case err == nil:
		return pool, data, nil
	case errors.As(err, &pe):
		return nil, nil, fmt.Errorf("%s: --tsa-roots: %w", cmdName, err)
	default:
		return nil, nil, usageError("%s: --tsa-roots: %v", cmdName, err)
	}
}

// timestampsJSON is the --output json form of timestamp results.
func timestampsJSON(rs []matter.TimestampResult) []map[string]any {
	out := []map[string]any{}
	for _, r := range rs {
		j := map[string]any{"checkpoint_id": r.CheckpointID, "tsa": redact.URL(r.TSA), "ok": r.Err == nil}
		if r.Err != nil {
			j["error"] = r.Err.Error()
		} else {
			j["time"] = r.Time.Format(time.RFC3339Nano)
		}
		out = append(out, j)
	}
	return out
}

// cosignsJSON is the --output json form of cosigning results.
func cosignsJSON(rs []matter.CosignResult) []map[string]any {
	out := []map[string]any{}
	for _, r := range rs {
		j := map[string]any{"checkpoint_id": r.CheckpointID, "witness": redact.URL(r.Witness), "ok": r.Err == nil}
		if r.AlreadyStored {
			j["already_stored"] = true
		}
		if r.Err != nil {
			j["error"] = r.Err.Error()
		} else {
			j["cosignature"] = r.Lines
		}
		out = append(out, j)
	}
	return out
}

// runTimestampMissing asks the matter's authorities for the tokens its
// checkpoints lack. Exit 1 if one is still missing.
func runTimestampMissing(ctx context.Context, m *matter.Matter, g *globalOptions) error {
	urls, err := m.TSAs(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if len(urls) == 0 {
		return usageError("checkpoint: --timestamp-missing: the matter has no timestamp authority: give --tsa URL")
	}
	rs, err := m.TimestampMissing(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	failed := 0
	for _, r := range rs {
		if r.Err != nil {
			failed++
		}
	}
	if g.jsonOutput() {
		if err := g.writeJSON(map[string]any{"timestamps": timestampsJSON(rs), "failed": failed}); err != nil {
			return err
		}
	} else {
		for _, r := range rs {
			if r.Err == nil {
				fmt.Fprintf(g.stdout, "checkpoint #%d  timestamped %s by %s\n", r.CheckpointID, r.Time.Format(time.RFC3339), redact.URL(r.TSA))
			} else {
				fmt.Fprintf(g.stdout, "checkpoint #%d  still no timestamp from %s\n", r.CheckpointID, redact.URL(r.TSA))
			}
		}
		if len(rs) == 0 {
			fmt.Fprintln(g.stdout, "every stored checkpoint has a token from every authority")
		}
	}
	if failed > 0 {
		return fmt.Errorf("checkpoint: %d %s still missing", failed, plural(failed, "timestamp", "timestamps"))
	}
	return nil
}
