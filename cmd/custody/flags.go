package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/s3util"
)

// Flags shared by several commands are declared here, once each, so that
// one name has one meaning on every command (docs/commands.md lists them).

// auditServiceUsage is --audit-service's help on export, refetch and sim
// serve: the same serviceName, looked for by one and filed under by the
// other.
const auditServiceUsage = "audit serviceName under which deletion-protection changes are filed (Genesys does not document which): a name of letters and digits, as GET /api/v2/audits/query/servicemapping lists them"

// checkAuditService is --audit-service's one rule, on every command that
// takes it: a name Genesys could have given a service
// (genesys.ValidAuditServiceName). An empty one is not "the default": the
// query would name no service (Genesys requires one), and a name that is
// no service's finds no entry, so every legal hold would look as if
// nobody had applied it.
func checkAuditService(name string) error {
	if genesys.ValidAuditServiceName(name) {
		return nil
	}
	what := "empty"
	if name != "" {
		what = fmt.Sprintf("%q is not a service name", name)
	}
	return usageError("--audit-service: %s: want the audit serviceName deletion-protection changes are filed under, letters and digits starting with a letter, at most %d (default %s; GET /api/v2/audits/query/servicemapping lists an org's services)",
		what, genesys.MaxAuditServiceName, export.DefaultAuditServiceName)
}

// ownEvidence is what a bare --evidence stands for: the matter's own
// store (the one its ledger recorded, else evidence/ beside it). pflag
// needs a non-empty word for an optional value; "--evidence=matter" means
// the same, and a folder called matter is spelled ./matter.
const ownEvidence = "matter"

// evidenceOptions say which evidence store a command uses: --evidence
// and the flags of every backend (--s3-…), and for commands that write
// evidence --evidence-legal-hold.
type evidenceOptions struct {
	Location  string
	LegalHold bool

	given    bool // --evidence was on the command line, with or without a value
	backends *evidence.Registry
}

// evidenceFlag is --evidence's value: a location, or bare for the
// matter's own store.
type evidenceFlag struct{ o *evidenceOptions }

func (f evidenceFlag) String() string { return f.o.Location }
func (f evidenceFlag) Type() string   { return "LOC" }
func (f evidenceFlag) Set(s string) error {
	f.o.given = true
	// An s3:// location S3 could never take is refused here, as a usage
	// error naming the flag, on every command that takes --evidence.
	if err := badS3Location(s); err != nil {
		return err
	}
	if s != ownEvidence {
		f.o.Location = s
	}
	return nil
}

// AddFlags declares the evidence flags; writes says whether the command
// writes evidence (and so takes --evidence-legal-hold).
func (o *evidenceOptions) AddFlags(fs *pflag.FlagSet, writes bool) {
	o.backends = backends.New()
	fs.Var(evidenceFlag{o}, "evidence", "evidence store: a folder, file://DIR or s3://bucket/prefix; bare, the matter's own (the one its ledger recorded, else evidence/ beside the ledger)")
	fs.Lookup("evidence").NoOptDefVal = ownEvidence
	if writes {
		fs.BoolVar(&o.LegalHold, "evidence-legal-hold", false, "put a legal hold on every evidence object written (s3: Object Lock; the bucket needs it enabled)")
		deprecatedAlias(fs, "s3-legal-hold", "evidence-legal-hold")
	}
	o.backends.AddFlags(fs)
}

// s3 returns the S3 backend's options as the flags set them: other S3
// readers (diff's s3:// sources) start from them.
func (o *evidenceOptions) s3() s3store.Options {
	b, _ := o.backends.Backend(s3store.Scheme)
	return b.(*s3store.Backend).Options
}

// folder is the folder backend, with its flag's value.
func (o *evidenceOptions) folder() *folder.Backend {
	b, _ := o.backends.Backend(folder.Scheme)
	return b.(*folder.Backend)
}

// matterOptions are the matter.Options these flags describe.
func (o *evidenceOptions) matterOptions() matter.Options {
	return matter.Options{
		Evidence:        o.Location,
		EvidenceOptions: evidence.Options{LegalHold: o.LegalHold},
		Backends:        o.backends,
	}
}

// expandOptionalValue rewrites "--NAME VALUE" as "--NAME=VALUE" for flags
// whose value is optional (--evidence), when VALUE does not look like a
// flag: pflag alone would leave VALUE as an argument, and scripts written
// when the value was required keep working. A bare --NAME is left alone.
func expandOptionalValue(args []string, names ...string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "--") && slices.Contains(names, a[2:]) && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// deprecatedAnnotation, on a hidden alias flag, names the flag it stands
// for; warnDeprecated tells the user. (pflag's MarkDeprecated would print
// through cobra to stdout, which carries data.)
const deprecatedAnnotation = "custody/deprecated-for"

// deprecatedAlias declares old as a hidden alias of the flag new, already
// declared on fs: the same value, kept for one release so that existing
// scripts keep working, with a warning on stderr.
func deprecatedAlias(fs *pflag.FlagSet, old, new string) {
	f := fs.Lookup(new)
	fs.Var(f.Value, old, "deprecated: use --"+new)
	a := fs.Lookup(old)
	a.Hidden = true
	a.NoOptDefVal = f.NoOptDefVal
	a.Annotations = map[string][]string{deprecatedAnnotation: {new}}
}

// hideDefault keeps --help from adding "(default X)" to flag name's
// text: for a flag whose text says its default in words (X would
// contradict it) or whose default stands for "not given". pflag adds
// none when DefValue is what it takes for a number's zero, "0"; DefValue
// serves only the help.
func hideDefault(fs *pflag.FlagSet, name string) {
	fs.Lookup(name).DefValue = "0"
}

// warnDeprecated prints one line on stderr for every deprecated alias the
// command line used.
func (g *globalOptions) warnDeprecated(cmd *cobra.Command) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if to := f.Annotations[deprecatedAnnotation]; len(to) > 0 {
			g.warn(fmt.Sprintf("--%s is deprecated and will be removed; use --%s", f.Name, to[0]))
		}
	})
}

// redactURLs tells the redactor the secrets of every URL given in a
// flag of cmd (--api-url, --login-url, --s3-endpoint, --tsa, --witness,
// and any other: a value that is not an absolute URL gives none), so
// that no log line, warning or error repeats them, whoever quotes the
// URL (net/http, the AWS SDK).
func (g *globalOptions) redactURLs(cmd *cobra.Command) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		vals := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
		}
		for _, v := range vals {
			g.redact.AddURL(v)
		}
	})
}

// warn tells the user something they should act on, without failing:
// "custody: warning: MSG" on stderr, or a WARN record under --log-format
// json. note is the same for what they should only know.
func (g *globalOptions) warn(msg string) { g.say("warning", slog.LevelWarn, msg) }

func (g *globalOptions) note(msg string) { g.say("note", slog.LevelInfo, msg) }

func (g *globalOptions) say(label string, level slog.Level, msg string) {
	msg = exportfile.SafeMessage(msg) // it may name what an export or the ledger holds
	if g.LogFormat == "json" && g.log != nil {
		g.log.Log(context.Background(), level, msg)
		return
	}
	fmt.Fprintf(g.stderr, "custody: %s: %s\n", label, g.redact.Redact(msg))
}

// openMatter opens the matter at --ledger with opts: a writing command
// takes the matter's writer lock (named after the command), and what the
// matter says about where its evidence is goes to stderr.
func openMatter(ctx context.Context, g *globalOptions, opts matter.Options) (*matter.Matter, error) {
	opts.Ledger = g.Ledger
	opts.Command = g.command
	opts.Warn = g.warn
	m, err := matter.Open(ctx, opts)
	if errors.Is(err, ledger.ErrNotExist) && opts.ReadOnly && g.ledgerNamed {
		// Whoever reads a ledger they named (an auditor's verify) is
		// not told to create one.
		err = fmt.Errorf("ledger: open %s: %w (nothing is at the path given)", g.Ledger, ledger.ErrNotExist)
	}
	if err == nil && !opts.ReadOnly && !g.finishesErase {
		// Every writer opens the matter here, holding its lock now (an
		// erase still running holds it, with its journal): a journal
		// found is an erase cut short, whose deletions are unrecorded
		// until the same erase is run again. Nothing may come between.
		p, perr := erasure.ReadPending(opts.Ledger)
		if perr == nil && p != nil {
			perr = p.Refusal(opts.Ledger)
		}
		if perr != nil {
			return nil, errors.Join(perr, m.Close())
		}
	}
	if err == nil {
		// An older custody kept authority and witness URLs with secrets:
		// no error or warning repeats them.
		if urls, uerr := m.SettingsURLs(ctx); uerr == nil {
			for _, u := range urls {
				g.redact.AddURL(u)
			}
		}
	}
	return m, matterError(err)
}

// evidenceStore opens m's evidence store.
func evidenceStore(ctx context.Context, m *matter.Matter) (evidence.Store, error) {
	st, err := m.Evidence(ctx)
	return st, matterError(err)
}

// matterError marks the errors of opening a matter that a flag fixes as
// usage errors (exit 2).
func matterError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, matter.ErrEvidenceAmbiguous):
		return withCode(exitUsage, err)
	case errors.Is(err, matter.ErrEvidenceElsewhere):
		return withCode(exitUsage, fmt.Errorf("%w (leave --evidence out to use the recorded store, or correct the record with 'custody matter set-evidence LOC')", err))
	case errors.Is(err, matter.ErrWrongKey), errors.Is(err, evidence.ErrBadLocation), errors.Is(err, s3util.ErrBadURL):
		return withCode(exitUsage, err)
	}
	return err
}

// badS3Location says what is wrong with loc when it is an s3:// location
// (the scheme in any case, as evidence.Registry.Lookup reads it) that no
// S3 could take: an invalid bucket name, a prefix with "." or ".."
// segments. Such a location is a usage error (exit 2) wherever it is
// given; a valid one whose bucket is missing or unreachable is an I/O
// error (exit 1) when it is opened. nil for any other location.
func badS3Location(loc string) error {
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok || !strings.EqualFold(scheme, "s3") {
		return nil
	}
	u := s3util.Scheme + rest
	if _, _, err := s3util.ParseURL(u); err != nil {
		// The caller names the location; ParseURL's "s3 url …: " would
		// repeat it.
		return errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("s3 url %q: ", u)))
	}
	return nil
}

// maxConcurrency is the most --concurrency allows, on every command that
// takes it (export, refetch, diff).
const maxConcurrency = 64

// checkConcurrency is --concurrency's one rule: 1 to maxConcurrency.
func checkConcurrency(n int) error {
	if n < 1 || n > maxConcurrency {
		return usageError("--concurrency must be between 1 and %d", maxConcurrency)
	}
	return nil
}

// checkFolderExists, for a command that only reads evidence, refuses an
// --evidence LOC naming a folder that does not exist: like a regular file
// there (evidence.ErrBadLocation), it is no store of evidence, and the
// same usage error. The matter's own store (bare --evidence) and other
// schemes are left to the store.
func (o *evidenceOptions) checkFolderExists(cmdName string) error {
	loc := o.Location
	if loc == "" {
		return nil
	}
	dir := strings.TrimPrefix(loc, folder.Scheme+"://")
	if strings.Contains(dir, "://") {
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return usageError("%s: --evidence %s: no such folder", cmdName, loc)
	}
	return nil
}
