package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/reconcile"
)

type eraseOptions struct {
	Conversations []string
	Messages      []string
	Reason        string
	OverrideHold  string
	Key           string
	DryRun        bool
	ev            evidenceOptions

	overrideGiven bool     // --override-hold was on the command line
	rerun         []string // the flags its journal's command repeats (rerunFlags)
}

func (o *eraseOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.Conversations, "conversation", nil, "erase this conversation, every message of it (repeatable)")
	fs.StringArrayVar(&o.Messages, "message", nil, "erase this message (repeatable)")
	fs.StringVar(&o.Reason, "reason", "", "why (recorded in the ledger forever; required), e.g. a request reference: no personal data (refused when it holds an address, name or text of what is erased)")
	fs.StringVar(&o.OverrideHold, "override-hold", "", "erase even what is under legal hold, for this recorded reason (no personal data, as --reason)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "say what the erasure would delete (collateral messages among them), keep and leave to recall, and change nothing (--reason then optional)")
	fs.StringVar(&o.Key, "key", "", "signer key file, to sign a checkpoint vouching for the erasure (default: the .key file beside the ledger)")
	o.ev.AddFlags(fs, false)
}

func newEraseCommand(g *globalOptions) *cobra.Command {
	o := &eraseOptions{}
	cmd := &cobra.Command{
		Use:   "erase (--conversation ID... | --message ID...) (--reason TEXT [--override-hold REASON] | --dry-run)",
		Short: "Erase conversations or messages: delete their evidence, record the erasure",
		Long: `Erase deletes from the evidence store what holds the content of the
given conversations or messages — their response bodies, attachments and
the openings (salts) of their ledger commitments — and appends an
"erasure" entry naming what was erased, what could not be deleted and
why, when, why (--reason) and by whom, then signs a checkpoint that
vouches for it (with the signer key beside the ledger, or --key): its
note carries the line "erasure <seq>". Nothing in the ledger is changed:
every hash, checkpoint and proof, of erased messages and others, still
verifies, and 'custody verify --evidence' reports the deleted objects as
erased, not missing, once such a checkpoint vouches for the entry. A
routine checkpoint does not: anyone who can write the ledger file can
append an erasure entry, and the next export's checkpoint would cover
it. Without the key erase warns, and verify reports the objects missing
until the key's holder runs 'custody checkpoint --erasure SEQ' (the
same erase run again records nothing and names the erasure entries
that did it and have no such checkpoint: an erase cut short before its
checkpoint is finished so, after checking the entry). Messages captured in ledger
format v3 keep only salted commitments in the ledger, which nobody can
open once the salts are gone; messages captured before v3 keep their
sender, recipient and content hash in their leaves (the command says how
many).

Erasing one message deletes the response bodies that hold it, which hold
the other messages of its conversation too: those are listed as
collateral (their commitments still open, a diff still compares them).
Objects another conversation shares (the legal-hold answers, audit
pages, analytics listing pages that also list other conversations) are
kept and named in the entry. A production's manifest kept as evidence
that lists an erased message (with the plain SHA-256 of its text) is
deleted, and so is each object of a recorded diff's findings that names
an erased conversation or message (a text's plain SHA-256, a sender's
address): the entry names it with its diff, and that diff can no longer
be read whole (report, produce --diff, refetch) until 'custody diff' is
run again on the export. So is every object no entry references (a custody before
ef2d53c stored the bodies of every conversation it read again unchanged)
that is a response body holding an erased message or of a conversation
erased whole, or an erased message's opening: erase lists the store once
and reads each such object, and one that cannot be read or does not
hash to its name stops it before anything is deleted; the entry names
them in erased and unreferenced. Every object erase is about to delete
is first checked against its name (hashed as a stream): one that does
not hash to its name, or cannot be read, refuses the erasure with
nothing deleted or recorded (run 'custody verify --evidence'), so an
erasure never hides an alteration. So does one already absent, unless
custody removed it: an earlier erasure entry records it deleted, or the
journal of an erase cut short (below) names it. Evidence missing that no
erasure deleted (by hand, a lost disk) is never recorded as erased. Temporary files a killed write left in
the store (.tmp-…, never evidence; one may be a whole body) are removed
and counted, and so are the folders a produce killed before it recorded
its production left (listed in the ledger's state, wherever --out was;
they may hold the produced messages' text). Every recorded production and report
that holds, or may hold, what was erased is recorded in the entry's
outputs: custody cannot delete files already delivered, the operator
recalls or deletes them. The summary ends by naming, once each, every
place personal data of what was erased is left ("remains"; JSON
personal_data_remains): the listing pages kept, the export a diff read,
each production and report to recall by its folder ("folder not
recorded" for a report recorded before its entry named its folder), v1
leaves. A conversation erased, whole or in part, is
not captured again by later exports.

The reasons (--reason, --override-hold) are recorded in the ledger,
which is append-only: no erasure can ever remove them. So erase refuses,
exit 2, deleting and recording nothing, a reason that holds a personal
value of the person it is asked to erase that custody knows — their
address (a number of 7 digits or more by its digits, however grouped),
their name (a full name in any case; a one-word name only as written,
of 4 letters or more and not a common word such as "Will"), the text of
a message of 12 characters or more that is not made of common words
only ("delete my data" is) — and says which kind, never the value. The
organisation's own number and channel name are not the person's. Give
a reference instead ("DSR-1042").

Erase refuses while a conversation is under legal hold — deletion
protection when it was captured, or a matter hold ('custody hold') —
unless --override-hold gives a reason, which is recorded. It refuses,
deleting nothing, when S3 Object Lock (a legal hold or retention) keeps
the first object it tries: lift it first ('custody release' clears the
legal hold custody placed). A later object Object Lock keeps still holds
what is erased: the erasure is recorded with it not deleted, exit 1;
lift the hold and run the same erase again to finish.

--dry-run says what the erase would do — the objects it would delete,
the collateral messages by id, the diffs whose findings it would delete,
what is held, the places personal data would be left — and changes
nothing: the matter is opened read-only, as verify opens it (--reason is
optional; one given is checked).

Before deleting anything, erase writes a journal beside the ledger
(custody.db.erase-pending: what it erases, the objects it is to delete,
and the command that finishes it, with the evidence flags this erase
was given — --evidence, --s3-…, --key — and no secret), removed once the erasure is
recorded. An erase killed in between (kill -9, a crash) leaves it:
'custody verify' warns and says which missing objects that erase
deleted, every other writer refuses, naming the command, and the same
erase run again records the erasure and removes the journal.

Examples:
  custody erase --conversation 2f0c1b5e-… --reason "GDPR Art. 17 request DSR-1042"
  custody erase --message 7d1e… --message 88a0… --reason "DSR-1043"
  custody erase --message 7d1e… --dry-run
  custody erase --conversation 2f0c… --reason "DSR-1044" --override-hold "hold lifted by counsel, ticket LGL-77"
` + exitStatus(exit0, `1    error (an id not in the ledger, I/O), or refused: under legal hold
       without --override-hold, the first object kept by S3 Object Lock,
       or an object to delete altered, unreadable, or missing with no
       erasure having deleted it (nothing was erased);
       or recorded with objects not deleted (a delete failed, or S3 Object
       Lock kept one): run it again to finish`, exit2+`;
       or a reason holding an address, name or text of what is to be
       erased (nothing erased)`, exit3Ledger,
			"130  cancelled (Ctrl-C): what was deleted is recorded, the rest listed as not deleted; run it again to finish"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.overrideGiven = cmd.Flags().Changed("override-hold")
			o.rerun = rerunFlags(cmd.LocalFlags())
			return runErase(cmd.Context(), o, g)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// rerunFlags are the flags given to erase beyond the selection, reason
// and override (which the journal's command names itself): its evidence
// store, the store's options (--s3-endpoint, --s3-region, …) and --key,
// as "--name=value" words, for the command an erase cut short names to
// finish it — without them an erase of an S3 store cannot reach it
// again. A URL's user and password are left out: no secret is written
// (credentials stay in the environment). Paths are made absolute, as the
// ledger's is.
func rerunFlags(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		switch {
		case !f.Changed:
			return
		case f.Name == "conversation", f.Name == "message", f.Name == "reason", f.Name == "override-hold":
			return
		}
		v := f.Value.String()
		if (f.Name == "evidence" || f.Name == "evidence-store") && v == "" {
			out = append(out, "--"+f.Name) // bare: the matter's own store
			return
		}
		// A path as given is relative to where erase ran; the command
		// names the ledger by its absolute path, so the rest too. An
		// evidence location takes the form a ledger records
		// (Registry.Normalize: a folder's absolute path, whatever its
		// spelling; a location it refuses, erase has refused already).
		switch f.Name {
		case "evidence", "evidence-store":
			if n, err := backends.New().Normalize(v); err == nil {
				v = n
			}
		case "key":
			if abs, err := filepath.Abs(v); err == nil {
				v = abs
			}
		}
		if u, err := url.Parse(v); err == nil && u.User != nil {
			u.User = nil
			v = u.String()
		}
		out = append(out, "--"+f.Name+"="+v)
	})
	return out
}

// noEmptyIDs refuses an empty --conversation or --message value (an
// unset shell variable, say), which would otherwise be looked up and
// reported as an id "not in the ledger".
func noEmptyIDs(cmd string, conversations, messages []string) error {
	for _, ids := range [...]struct {
		flag string
		ids  []string
	}{{"--conversation", conversations}, {"--message", messages}} {
		for _, id := range ids.ids {
			if strings.TrimSpace(id) == "" {
				return usageError("%s: %s needs an id, not an empty value", cmd, ids.flag)
			}
		}
	}
	return nil
}

// operatorName is who runs a recording command, for the entries that say
// by whom.
func operatorName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

func runErase(ctx context.Context, o *eraseOptions, g *globalOptions) error {
	if len(o.Conversations)+len(o.Messages) == 0 {
		return usageError("erase: give --conversation ID or --message ID")
	}
	if err := noEmptyIDs("erase", o.Conversations, o.Messages); err != nil {
		return err
	}
	// Blank is no reason: erase.Erase would refuse it after the matter
	// is opened (exit 1), and a blank --override-hold would be taken
	// for none, the refusal then asking for the flag just given.
	if strings.TrimSpace(o.Reason) == "" && !o.DryRun {
		return usageError("erase: --reason is required (it is recorded in the ledger)")
	}
	if o.overrideGiven && strings.TrimSpace(o.OverrideHold) == "" {
		return usageError("erase: --override-hold needs a reason (it is recorded in the ledger), not a blank one")
	}
	mo := o.ev.matterOptions()
	mo.SignerKey = o.Key
	// A dry run opens the matter read-only, as verify does: no lock, no
	// write to the ledger or the store can happen.
	mo.ReadOnly = o.DryRun
	g.finishesErase = true // erase.Erase checks that it is the same erase
	m, err := openMatter(ctx, g, mo)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	defer m.Close()
	store, err := evidenceStore(ctx, m)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	req := erase.Request{Conversations: o.Conversations, Messages: o.Messages, Reason: o.Reason,
		OverrideHold: o.OverrideHold, Operator: operatorName(), Flags: o.rerun, DryRun: o.DryRun,
		// A production made with --diff holds the conversations its diff
		// found something in: read back as produce read them.
		DiffConversations: func(ctx context.Context, runID string) ([]string, error) {
			_, ids, err := reconcile.DiffConversations(ctx, m.Ledger, store, runID)
			return ids, err
		}}
	var noKey error
	if o.DryRun {
		// Nothing is recorded, so nothing is signed.
	} else if key, err := m.SignerKey(); err == nil {
		req.SignerKey = key
	} else if o.Key != "" {
		return fmt.Errorf("erase: %w", err)
	} else {
		noKey = err
	}
	res, err := erase.Erase(ctx, m.Ledger, store, req)
	if errors.Is(err, erase.ErrPersonalReason) {
		// Bad input, refused before anything was deleted: a usage error.
		return withCode(exitUsage, err)
	}
	if noKey != nil && res != nil && !res.Already {
		// Until a signed checkpoint vouches for the entry, verify
		// --evidence cannot tell it from one anybody appended: the
		// objects it deleted are missing, not erased.
		g.warn(fmt.Sprintf("no signed checkpoint vouches for the erasure entry %d (%v): 'custody verify --evidence' reports the objects it deleted as missing until the signer key's holder runs 'custody checkpoint --erasure %d'", res.Seq, noKey, res.Seq))
	}
	if err != nil && ctx.Err() != nil && res != nil {
		// Cancelled after deleting some objects, and recorded: exit 130,
		// saying which entry and that a rerun deletes the rest, not only
		// "cancelled".
		err = cancelledSaying(err)
	}
	if err != nil && res == nil {
		return err // an id not in the ledger is bad input: exit 1, as prove, report and produce
	}
	if g.jsonOutput() {
		if jerr := g.writeJSON(res); jerr != nil {
			return jerr
		}
		return err
	}
	if res.DryRun && !res.Already {
		printDryRun(g, res)
		return err
	}
	if res.Already {
		fmt.Fprintf(g.stdout, "already erased (ledger entry %d): nothing left to delete, nothing recorded\n", res.Seq)
		if res.DryRun {
			fmt.Fprintln(g.stdout, "dry run      nothing was changed")
		}
		if res.Journal != "" {
			fmt.Fprintf(g.stdout, "journal      %s, of an erase cut short after it recorded its entry, is left: the same erase without --dry-run removes it\n", res.Journal)
		}
		printProduceLeftovers(g, res)
		if len(res.Unvouched) > 0 && err == nil {
			g.warn(fmt.Sprintf("no signed checkpoint vouches for erasure %s %s: 'custody verify --evidence' reports the objects deleted as missing until the signer key's holder, having checked that each is the erasure meant ('custody log --kind erasure'), runs 'custody checkpoint --erasure SEQ' for it (an erasure entry needs no key to append, so erase does not vouch for one it did not just record)",
				plural(len(res.Unvouched), "entry", "entries"), seqList(res.Unvouched)))
		}
		return err
	}
	d := res.Detail
	fmt.Fprintf(g.stdout, "erased       %d conversations, %d messages (ledger entry %d)\n", len(d.Conversations), len(d.Messages), res.Seq)
	fmt.Fprintf(g.stdout, "deleted      %d evidence objects\n", len(d.Erased))
	if len(d.Unreferenced) > 0 {
		fmt.Fprintf(g.stdout, "unreferenced %d of them no entry referenced (left by a custody before ef2d53c), holding what is erased\n", len(d.Unreferenced))
	}
	if res.TempsRemoved > 0 {
		fmt.Fprintf(g.stdout, "temporaries  %d files of writes a crash cut short removed (never evidence, so in no entry; one may hold what is erased)\n", res.TempsRemoved)
	}
	printLeftoversRemoved(g, res)
	for _, df := range d.Diffs {
		fmt.Fprintf(g.stdout, "diff         entry %d, run %s: %d findings %s deleted: %s\n", df.Seq, df.RunID, len(df.Findings), plural(len(df.Findings), "object", "objects"), df.Why)
	}
	if len(d.Collateral) > 0 {
		fmt.Fprintf(g.stdout, "collateral   %d messages lost their response bodies (their commitments still open)\n", len(d.Collateral))
	}
	if len(res.Held) > 0 {
		fmt.Fprintf(g.stdout, "held         %s: erased under --override-hold %q\n", listOrNone(res.Held), d.OverrideHold)
	}
	printRemains(g, res.Remains, "is")
	if len(d.Outputs) > 0 {
		g.warn(fmt.Sprintf("%d recorded %s (listed 'remains') hold, or may hold, what this erasure erased: custody cannot delete files already delivered; the operator must recall or delete them", len(d.Outputs), plural(len(d.Outputs), "production or report", "productions and reports")))
	}
	return err
}

// printRemains names, once each, every place personal data of what is
// erased is left after the erasure: one sentence, then a line a place.
// verb is "is", or "would be" for a dry run.
func printRemains(g *globalOptions, rs []erase.Remain, verb string) {
	if len(rs) == 0 {
		fmt.Fprintf(g.stdout, "remains      no personal data of what is erased %s left in the evidence, and no recorded production or report holds it\n", verb)
		return
	}
	fmt.Fprintf(g.stdout, "remains      personal data of what is erased %s left in %d %s, which this erasure does not delete:\n", verb, len(rs), plural(len(rs), "place", "places"))
	for _, r := range rs {
		var where string
		switch r.Place {
		case "evidence":
			where = "evidence object " + r.Object
		case leaf.KindProduction:
			where = fmt.Sprintf("production entry %d, folder %s", r.Seq, folderOrNot(r.Folder))
		case leaf.KindReport:
			where = fmt.Sprintf("report entry %d (run %s), folder %s", r.Seq, r.Name, folderOrNot(r.Folder))
		case "export":
			where = "export " + r.Folder
		case "ledger":
			where = "the ledger"
		default:
			where = "folder " + r.Folder
		}
		fmt.Fprintf(g.stdout, "  %s: %s\n", where, r.Why)
	}
}

func folderOrNot(f string) string {
	if f == "" {
		return "not recorded"
	}
	return f
}

// printProduceLeftovers says which folders a produce killed before it
// recorded its production erase removed, and warns of those it could not.
func printProduceLeftovers(g *globalOptions, res *erase.Result) {
	printLeftoversRemoved(g, res)
	for _, p := range res.ProduceLeftoversFailed {
		g.warn(fmt.Sprintf("a folder a produce killed before recording left could not be looked at or removed, and may hold the produced messages' text, erased ones among them: %s (remove it, or run the same produce again)", p))
	}
}

// printLeftoversRemoved says which folders a produce killed before it
// recorded its production erase removed (those it could not are among
// the places personal data remains).
func printLeftoversRemoved(g *globalOptions, res *erase.Result) {
	for _, p := range res.ProduceLeftovers {
		fmt.Fprintf(g.stdout, "leftover     %s removed: left by a produce killed before it recorded its production (it may hold the produced messages' text)\n", p)
	}
}

// printDryRun says what the erasure would do: what it would delete
// (collateral messages among it), keep, and leave to recall.
func printDryRun(g *globalOptions, res *erase.Result) {
	d := res.Detail
	fmt.Fprintln(g.stdout, "dry run      nothing was deleted or recorded; without --dry-run this erase would:")
	fmt.Fprintf(g.stdout, "erase        %d conversations, %d messages (%d of the conversations in part)\n", len(d.Conversations), len(d.Messages), len(d.Partial))
	fmt.Fprintf(g.stdout, "delete       %d evidence objects", len(d.Erased))
	if len(d.Unreferenced) > 0 {
		fmt.Fprintf(g.stdout, " (%d of them no entry references, left by a custody before ef2d53c)", len(d.Unreferenced))
	}
	fmt.Fprintln(g.stdout)
	if len(d.Collateral) > 0 {
		fmt.Fprintf(g.stdout, "collateral   %d messages not erased would lose their response bodies (their commitments still open; produce and report could no longer show their text): %s\n", len(d.Collateral), listOrNone(d.Collateral))
	}
	for _, df := range d.Diffs {
		fmt.Fprintf(g.stdout, "diff         entry %d, run %s: %d findings %s would be deleted: %s\n", df.Seq, df.RunID, len(df.Findings), plural(len(df.Findings), "object", "objects"), df.Why)
	}
	if len(res.Held) > 0 {
		fmt.Fprintf(g.stdout, "held         %s: under legal hold, erased only with --override-hold\n", listOrNone(res.Held))
	}
	printRemains(g, res.Remains, "would be")
}
