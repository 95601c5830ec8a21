package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/redact"
)

type logOptions struct {
	Kind         string
	Conversation string
	Message      string
	Run          string
	From         uint64
	Limit        int
}

func (o *logOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kind, "kind", "", "only entries of this kind (message, conversation, run, …)")
	fs.StringVar(&o.Conversation, "conversation", "", "only entries about this conversation id")
	fs.StringVar(&o.Message, "message", "", "only entries about this message id")
	fs.StringVar(&o.Run, "run", "", "only entries written by this run id")
	fs.Uint64Var(&o.From, "from", 0, "start at this sequence number")
	fs.IntVar(&o.Limit, "limit", 0, "at most this many entries (0: all)")
}

func newLogCommand(g *globalOptions) *cobra.Command {
	o := &logOptions{}
	cmd := &cobra.Command{
		Use:   "log [--kind K] [--conversation ID] [--message ID] [--limit N]",
		Short: "List ledger entries",
		Long: `Log lists the ledger's entries in sequence order, one line each: sequence
number, time recorded, kind, conversation and message ids (or the run
id), the first digits of the payload hash, a message's legal hold, and
the entry it supersedes; a settings entry says what changed, how, the
list left and by whom ("tsa_urls remove URL  left URL, …  by NAME"),
every URL without its user info, query or fragment.

With --output json (or jsonl: the same) it prints JSON Lines, one object per entry:
  {"seq": N, "leaf_hash": "<hex>", "chain": "<hex>", "leaf": {…}}
where "leaf" is the stored leaf, byte for byte (see docs/ledger-format.md),
so SHA-256(0x00 || leaf) is the leaf hash.

An id given to --conversation, --message or --run that no entry of the
ledger names is an error (exit 1, nothing on stdout), as on every command
that takes ids; filters that each match but not together (--message M
--kind run) print nothing and exit 0.

Examples:
  custody log --limit 20
  custody log --message 2f0c… --output json
  custody log --kind run
` + exitStatus(exit0, "1    error (an id not in the ledger, I/O; the message says which)", exit2, exit3Ledger, exit130),
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputsAnnotation: "text,json,jsonl"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return runLog(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runLog(ctx context.Context, o *logOptions, g *globalOptions) error {
	if o.Limit < 0 {
		return usageError("log: --limit must not be negative")
	}
	if o.Kind != "" {
		if _, ok := leaf.LookupKind(o.Kind); !ok {
			// An unknown kind would match nothing: say so rather than print
			// an empty log that reads as "no such entries".
			var names []string
			for _, k := range leaf.Kinds() {
				names = append(names, k.Name)
			}
			return usageError("log: --kind %q: no such entry kind (one of %s)", o.Kind, strings.Join(names, ", "))
		}
	}
	m, err := openMatter(ctx, g, matter.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer m.Close()
	l := m.Ledger
	w := bufio.NewWriter(g.stdout)
	defer w.Flush()
	f := ledger.Filter{Kind: o.Kind, ConversationID: o.Conversation, MessageID: o.Message, RunID: o.Run, FromSeq: o.From, Limit: o.Limit}
	listed := 0
	for e, err := range l.Entries(ctx, f) {
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		listed++
		if g.jsonOutput() || g.Output == "jsonl" {
			line, err := json.Marshal(logLine{Seq: e.Seq, LeafHash: e.LeafHash.String(), Chain: e.Chain.String(), Leaf: json.RawMessage(e.Leaf)})
			if err != nil {
				return fmt.Errorf("log: seq %d: %w", e.Seq, err)
			}
			w.Write(line)
			w.WriteByte('\n')
			continue
		}
		fmt.Fprintln(w, formatEntry(e))
	}
	if listed == 0 {
		// An empty listing cannot tell a script "this message has no
		// history here" from "nothing matched the other filters": an
		// id no entry names is bad input, as prove, erase and report
		// have it. (Anything listed names every id given.)
		if err := knownIDs(ctx, l, o); err != nil {
			return fmt.Errorf("log: %w", err)
		}
	}
	return w.Flush()
}

// knownIDs checks that some entry of the ledger names each id o filters
// by (--conversation, --message, --run), whatever the other filters.
func knownIDs(ctx context.Context, l *ledger.Ledger, o *logOptions) error {
	for _, c := range []struct {
		what, id string
		f        ledger.Filter
	}{
		{"conversation", o.Conversation, ledger.Filter{ConversationID: o.Conversation, Limit: 1}},
		{"message", o.Message, ledger.Filter{MessageID: o.Message, Limit: 1}},
		{"run", o.Run, ledger.Filter{RunID: o.Run, Limit: 1}},
	} {
		if c.id == "" {
			continue
		}
		found := false
		for _, err := range l.Entries(ctx, c.f) {
			if err != nil {
				return err
			}
			found = true
		}
		if !found {
			return fmt.Errorf("%s not in the ledger: %s", c.what, c.id)
		}
	}
	return nil
}

// logLine is one line of `custody log --output json`.
type logLine struct {
	Seq      uint64          `json:"seq"`
	LeafHash string          `json:"leaf_hash"`
	Chain    string          `json:"chain"`
	Leaf     json.RawMessage `json:"leaf"`
}

// formatEntry renders an entry as one text line.
func formatEntry(e leaf.Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7d  %s  %-12s", e.Seq, e.At.UTC().Format(leaf.TimeLayout), e.Kind)
	if e.ConversationID != "" {
		fmt.Fprintf(&b, "  conv %s", e.ConversationID)
	}
	if e.MessageID != "" {
		fmt.Fprintf(&b, "  msg %s", e.MessageID)
	}
	if e.RunID != "" && e.MessageID == "" {
		fmt.Fprintf(&b, "  run %s", e.RunID)
	}
	if !e.PayloadSHA256.IsZero() {
		fmt.Fprintf(&b, "  payload %.12s", e.PayloadSHA256.String())
	}
	if c := e.Compliance; c != nil {
		hold := "unknown"
		if c.LegalHold != nil {
			hold = fmt.Sprint(*c.LegalHold)
		}
		fmt.Fprintf(&b, "  hold %s", hold)
	}
	if e.Supersedes != nil {
		fmt.Fprintf(&b, "  supersedes %d", *e.Supersedes)
	}
	if e.Kind == leaf.KindSettings {
		b.WriteString(formatSettings(e))
	}
	return b.String()
}

// formatSettings says what a settings entry changed: the setting, the
// action, the URLs, the list left and who changed it —
// "  tsa_urls remove http://127.0.0.1:1/  left http://tsa.example/  by alice" —
// each URL as custody shows it (redact.URL).
func formatSettings(e leaf.Entry) string {
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return "  (detail unreadable: " + err.Error() + ")"
	}
	sd := d.(*leaf.SettingsDetail)
	shown := func(urls []string) string {
		if len(urls) == 0 {
			return "none"
		}
		out := make([]string, len(urls))
		for i, u := range urls {
			out[i] = redact.URL(u)
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprintf("  %s %s %s  left %s  by %s", sd.Setting, sd.Action, shown(sd.URLs), shown(sd.Now), sd.Operator)
}
