package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
)

type proveOptions struct {
	Message   string
	Conv      string
	Seq       int64
	Out       string
	TlogProof bool
	Fields    []string
	ev        evidenceOptions
}

func (o *proveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Message, "message", "", "prove the latest capture of this message id")
	fs.StringVar(&o.Conv, "conversation", "", "with --message: the conversation whose capture of it to prove (needed only when two conversations captured that message id)")
	fs.Int64Var(&o.Seq, "seq", -1, "prove the entry with this sequence number")
	hideDefault(fs, "seq") // -1 stands for "not given"
	fs.StringVar(&o.Out, "out", "", "write the proof to this file instead of stdout, and its C2SP tlog-proof form beside it (refuses to overwrite)")
	fs.BoolVar(&o.TlogProof, "tlog-proof", false, "print the proof in the C2SP tlog-proof text form instead of JSON (not with --output json)")
	fs.StringSliceVar(&o.Fields, "fields", nil, "also prove these fields' values (comma-separated: "+strings.Join(leaf.ProvableFields[:], ", ")+"), revealing no other field")
	o.ev.AddFlags(fs, false)
	fs.Lookup("evidence").Usage = "the evidence store holding the openings of committed fields (default: the matter's own)"
}

func newProveCommand(g *globalOptions) *cobra.Command {
	o := &proveOptions{}
	cmd := &cobra.Command{
		Use:   "prove (--message ID [--conversation CONV] | --seq N) [--out FILE]",
		Short: "Write a self-contained inclusion proof of one entry",
		Long: `Prove writes a proof file (JSON, see docs/ledger-format.md) showing that
one entry — a captured message, with its compliance fields — is in the
ledger: the entry's exact bytes, its position, the Merkle audit path, and
the signed checkpoint it leads to (the latest stored checkpoint covering
the entry).

Anyone with the proof file and the ledger's verifier key can check it,
without the ledger and without trusting custody:
  custody verify --proof FILE --key custody.pub

The proof carries the checkpoint's RFC 3161 timestamp tokens (so verify
--proof states when the entry is proven to have existed) and the
witnesses' cosignatures on the checkpoint. With --out FILE it also writes
the proof in the C2SP tlog-proof text form beside it (FILE without .json,
plus .tlog-proof): the leaf in its "extra" line, the audit path, and the
cosigned checkpoint; verify --proof reads either form. With --out,
--output json prints what was written where (seq, tree_size, leaf_hash,
format, proof_file, tlog_proof_file); without it, the proof itself.

With --fields it also proves the values of those fields of a message
(a "custody-proof/v3" file): fields in clear in the leaf (legal_hold,
timestamp, ids, …) are read from it; a personal field that a v3 leaf
holds only as a salted commitment (from, to, content_sha256,
provider_message_id) is revealed with that field's salt alone, read
from the message's opening in the evidence store. No other field's
value or salt is in the proof. An erased message's committed fields can
no longer be proved.

If no checkpoint covers the entry yet, run 'custody checkpoint' first.
Prove refuses (exit 3) a ledger whose stored hashes no longer lead to the
checkpoint's root, whose checkpoint ids are not continuous, or whose
entry is not a strict leaf (I-JSON, no member named twice, its exact
RFC 8785 bytes, a custody entry), or, with --message, whose lookup
columns (the kind, conversation and message ids copied beside each leaf)
contradict the leaf of an entry they lead to: it never proves a forged
row, nor another message's entry. That --message finds no entry rests
on the ledger's message index, which 'custody verify' checks.

Examples:
  custody prove --message 2f0c1b… --out msg-2f0c.proof.json
  custody prove --seq 41
  custody prove --seq 41 --tlog-proof
  custody prove --message 2f0c1b… --fields legal_hold,timestamp,from
` + exitStatus(exit0, exit1, exit2,
			"3    the ledger contradicts itself or is damaged: no proof was written",
			exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("seq") && o.Seq < 0 {
				return usageError("prove: --seq %d: a sequence number is 0 or more", o.Seq)
			}
			return runProve(cmd.Context(), o, g)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// messageSeq is the seq of the latest capture of message msg in
// conversation conv, or, with conv empty, in the one conversation that
// captured it: one message id may be captured in two conversations
// (each its own message), and the latest by id alone would prove
// whichever captured it last.
func messageSeq(ctx context.Context, l *ledger.Ledger, msg, conv string) (uint64, error) {
	latest, err := l.LatestCaptures(ctx, []string{msg})
	if err != nil {
		return 0, fmt.Errorf("prove: %w", err)
	}
	var convs []string
	for k := range latest {
		convs = append(convs, k.ConversationID)
	}
	slices.Sort(convs)
	switch {
	case conv != "":
		if e, ok := latest[ledger.Capture{ConversationID: conv, MessageID: msg}]; ok {
			return e.Seq, nil
		}
		if len(convs) > 0 {
			return 0, fmt.Errorf("prove: message %q was never captured in conversation %q (it was in %s)", msg, conv, strings.Join(convs, ", "))
		}
	case len(convs) == 1:
		return latest[ledger.Capture{ConversationID: convs[0], MessageID: msg}].Seq, nil
	case len(convs) > 1:
		return 0, usageError("prove: message %q was captured in %d conversations (%s): name one with --conversation", msg, len(convs), strings.Join(convs, ", "))
	}
	// The answer of the message index, which verify checks against the
	// entries (a deleted index row would hide a capture).
	return 0, fmt.Errorf("prove: message %q was never captured in this ledger (its message index lists no entry of it; 'custody verify' checks the index)", msg)
}

func runProve(ctx context.Context, o *proveOptions, g *globalOptions) error {
	if (o.Message == "") == (o.Seq < 0) {
		return usageError("prove: give exactly one of --message or --seq")
	}
	if o.Conv != "" && o.Message == "" {
		return usageError("prove: --conversation names the conversation of a --message; give --message too")
	}
	if o.TlogProof && g.jsonOutput() {
		return usageError("prove: --tlog-proof prints the text form; --output json the JSON one: give one or the other")
	}
	if o.Out != "" {
		for _, f := range []string{o.Out, tlogProofPath(o.Out)} {
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("prove: %s already exists; refusing to overwrite it", f)
			}
		}
	}
	m, err := openMatter(ctx, g, matter.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	defer m.Close()
	l := m.Ledger
	seq := uint64(o.Seq)
	if o.Message != "" {
		if seq, err = messageSeq(ctx, l, o.Message, o.Conv); err != nil {
			return err
		}
	}
	p, err := l.Prove(ctx, seq)
	switch {
	case errors.Is(err, ledger.ErrNotCovered):
		return fmt.Errorf("prove: entry %d is not covered by a signed checkpoint yet; run 'custody checkpoint' first", seq)
	case errors.Is(err, ledger.ErrInconsistent):
		return fmt.Errorf("prove: %w; nothing was proved (run 'custody verify' for the full list)", err)
	case err != nil:
		return fmt.Errorf("prove: %w", err)
	}
	if len(o.Fields) > 0 {
		if err := proveFields(ctx, m, &p, o.Fields); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	data = append(data, '\n')
	tlog := leaf.MarshalTlogProof(p)
	if o.Out == "" {
		if o.TlogProof {
			data = tlog
		}
		_, err = g.stdout.Write(data)
		return err
	}
	if err := matter.WriteNew(o.Out, data, 0o644); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	if err := matter.WriteNew(tlogProofPath(o.Out), tlog, 0o644); err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	if g.jsonOutput() {
		// The proof is in the files: what was proved, and where it went.
		return g.writeJSON(proveSummary{Seq: p.Index, TreeSize: p.TreeSize, LeafHash: p.LeafHash.String(), Format: p.Format,
			ProofFile: o.Out, TlogProofFile: tlogProofPath(o.Out)})
	}
	fmt.Fprintf(g.stderr, "custody: wrote proof of entry %d (tree size %d) to %s and %s\n", p.Index, p.TreeSize, o.Out, tlogProofPath(o.Out))
	return nil
}

// proveSummary is prove --out's --output json: the entry proved, the
// checkpoint's size, and the two files written.
type proveSummary struct {
	Seq           uint64 `json:"seq"`
	TreeSize      uint64 `json:"tree_size"`
	LeafHash      string `json:"leaf_hash"`
	Format        string `json:"format"`
	ProofFile     string `json:"proof_file"`
	TlogProofFile string `json:"tlog_proof_file"`
}

// tlogProofPath is where the tlog-proof form of the proof file out goes:
// beside it, .json replaced by (or else followed by) .tlog-proof.
func tlogProofPath(out string) string {
	return strings.TrimSuffix(out, ".json") + ".tlog-proof"
}

// proveFields makes p a field proof, reading the message's opening from
// the evidence store when a committed field is asked for.
func proveFields(ctx context.Context, m *matter.Matter, p *leaf.Proof, fields []string) error {
	e, err := leaf.DecodeLeaf(p.Leaf)
	if err != nil {
		return fmt.Errorf("prove: %w", err)
	}
	var o *leaf.Opening
	dd, derr := leaf.DecodeDetail(e.Kind, e.Detail)
	if d, ok := dd.(*leaf.MessageDetail); derr == nil && ok && d.Salted() && slices.ContainsFunc(fields, leaf.IsPersonalField) {
		store, err := evidenceStore(ctx, m)
		if err != nil {
			return fmt.Errorf("prove: the opening of entry %d: %w", p.Index, err)
		}
		sum, err := hashchain.ParseHash(d.OpeningEvidence)
		if err != nil {
			return fmt.Errorf("prove: entry %d: %w", p.Index, err)
		}
		b, err := evidence.GetChecked(ctx, store, sum)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("prove: message %s: its opening %s is not in the evidence store (erased?): its committed fields cannot be proved", e.MessageID, sum)
		}
		if err != nil {
			return fmt.Errorf("prove: %w", err)
		}
		if o, err = leaf.ParseOpening(b); err != nil {
			return fmt.Errorf("prove: %w", err)
		}
	}
	if err := p.ProveFields(o, fields); err != nil {
		if strings.Contains(err.Error(), "no field") {
			return usageError("prove: --fields: %v", err)
		}
		return fmt.Errorf("prove: %w", err)
	}
	return nil
}
