package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/fetch"
)

// version is set at build time with -ldflags "-X main.version=…" ('make
// build' stamps 'git describe'); it is used when the module build info
// has no version (a build outside a module-aware VCS checkout).
var version = ""

// commit is set by 'make build' (-X main.commit=REV[+dirty]) and shown
// when the build info has no VCS revision (GOFLAGS=-buildvcs=false, a
// worktree the go command cannot read).
var commit = ""

// toolVersion is the version custody records in the ledger's run entries
// and sends in its User-Agent: the module version from the build info,
// else the stamped one, else "devel".
func toolVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if version != "" {
		return version
	}
	return "devel"
}

// versionText is what --version prints: the version, the module, the VCS
// commit (+dirty when the tree had local changes) and the Go toolchain,
// from the build info.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "custody %s\n", toolVersion())
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(&b, "  go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return b.String()
	}
	if bi.Main.Path != "" {
		fmt.Fprintf(&b, "  module  %s\n", bi.Main.Path)
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	switch {
	case rev != "" && at != "":
		fmt.Fprintf(&b, "  commit  %s%s (%s)\n", rev, dirty, at)
	case rev != "":
		fmt.Fprintf(&b, "  commit  %s%s\n", rev, dirty)
	case commit != "":
		fmt.Fprintf(&b, "  commit  %s\n", commit)
	default:
		fmt.Fprintf(&b, "  commit  unknown (built without VCS information)\n")
	}
	fmt.Fprintf(&b, "  go      %s %s/%s\n", cmp.Or(bi.GoVersion, runtime.Version()), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	Ledger string
	// ledgerNamed: --ledger (or CUSTODY_LEDGER) named the ledger, rather
	// than the default custody.db: a command that uses a ledger only when
	// there is one must not skip one the user named that is missing.
	ledgerNamed bool
	LogFormat   string
	LogLevel    string
	Output      string

	command string // the command line's command path ("custody export"), for the matter lock
	// finishesErase: the command is custody erase, which may open the
	// matter for writing while an erase cut short left its journal
	// (openMatter); erase.Erase checks that it is the same erase.
	finishesErase bool
	// started: cobra got past its own checks (command, arguments, flags)
	// and ran the command; its plain-text usage errors come before.
	started bool

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// redact knows the credentials of the API client a command builds
	// (and every token it obtains): the log handler and the error printed
	// at exit go through it, so no credential a server echoes reaches
	// stderr.
	redact *fetch.Redactor
}

func (g *globalOptions) AddFlags(fs *pflag.FlagSet) {
	def := os.Getenv("CUSTODY_LEDGER")
	if def == "" {
		def = "custody.db"
	}
	fs.StringVar(&g.Ledger, "ledger", def, "path of the ledger database (env CUSTODY_LEDGER)")
	fs.StringVar(&g.LogFormat, "log-format", "text", "diagnostics format on stderr: text|json")
	fs.StringVar(&g.LogLevel, "log-level", "info", "diagnostics level: debug|info|warn|error")
	fs.StringVar(&g.Output, "output", "text", "data format on stdout: text|json (diff also csv|jsonl; log jsonl, the same as json)")
}

// validate checks the global flags and sets up logging.
func (g *globalOptions) validate(cmd *cobra.Command) error {
	g.redactURLs(cmd)
	if f := cmd.Flag("ledger"); (f != nil && f.Changed) || os.Getenv("CUSTODY_LEDGER") != "" {
		g.ledgerNamed = true
	}
	allowed := []string{"text", "json"}
	if a, ok := cmd.Annotations[outputsAnnotation]; ok {
		allowed = strings.Split(a, ",")
	}
	if !slices.Contains(allowed, g.Output) {
		return usageError("--output must be %s for '%s', not %q", strings.Join(allowed, ", "), cmd.CommandPath(), g.Output)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.LogLevel)); err != nil {
		return usageError("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.LogFormat {
	case "text":
		g.log = slog.New(g.redact.Handler(slog.NewTextHandler(g.stderr, opts)))
	case "json":
		g.log = slog.New(g.redact.Handler(slog.NewJSONHandler(g.stderr, opts)))
	default:
		return usageError("--log-format must be text or json, not %q", g.LogFormat)
	}
	g.warnDeprecated(cmd)
	g.command = cmd.CommandPath()
	return nil
}

// outputsAnnotation, on a command, lists the --output formats it supports
// (comma-separated) when they are more than text and json.
const outputsAnnotation = "custody/outputs"

// jsonOutput reports whether data should be printed as JSON.
func (g *globalOptions) jsonOutput() bool { return g.Output == "json" }

// writeJSON prints v as the command's one JSON document: indented by two
// spaces and ending in a newline, the same on every command, so that a
// reader (or a diff of two runs) sees one layout.
func (g *globalOptions) writeJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRootCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "custody",
		Short: "A defensible chain of custody for Genesys Cloud WhatsApp conversations",
		Long: `custody exports WhatsApp conversations from Genesys Cloud through the
Conversation API, stores every raw response as evidence, records every
message in an append-only, signed SQLite hash chain (RFC 6962 Merkle tree,
C2SP signed checkpoints), verifies it, and diffs old Recording API exports
against it, message by message: what they lost, cut or altered, and the
legal hold and audit facts custody holds that their format cannot carry.

Start with 'custody demo' to see the whole flow against the built-in
Genesys simulator.

Examples:
  custody demo
  custody init --matter acme-v-smith
  custody COMMAND --help
` + exitStatusHelp,
		Version:       versionText(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			g.started = true
			return g.validate(cmd)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	cmd.SetVersionTemplate("{{.Version}}")
	g.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		// Subcommands, one file each (cmd_NAME.go).
		newInitCommand(g),
		newLogCommand(g),
		newCheckpointCommand(g),
		newProveCommand(g),
		newVerifyCommand(g),
		newExportCommand(g),
		newBenchCommand(g),
		newDiffCommand(g),
		newRefetchCommand(g),
		newSimCommand(g),
		newDemoCommand(g),
		newMatterCommand(g),
		newWitnessCommand(g),
		newEraseCommand(g), newHoldCommand(g), newReleaseCommand(g),
		newReportCommand(g),
		newProduceCommand(g),
	)
	describeCompletion(cmd)
	registerCompletions(cmd)
	return cmd
}

// run executes custody with args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr, redact: fetch.NewRedactor()}
	g.log = slog.New(g.redact.Handler(slog.NewTextHandler(stderr, nil)))
	root := newRootCommand(g)
	root.SetArgs(expandOptionalValue(args, "evidence"))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	rejectUnknownSubcommands(root)
	cmd, err := root.ExecuteContextC(ctx)
	// Only cobra's own errors are told by their text: an error of the
	// command itself ("verify: FAILED" naming a file "b accepts 1.cp")
	// keeps its code.
	if err != nil && !g.started && isCobraUsageError(err) {
		err = withCode(exitUsage, err)
	}
	if err != nil && !g.started {
		// cobra refuses an unknown command before it parses any flag:
		// read --log-format from the command line alone, so that the
		// error is in the format asked for, as every other one is.
		g.LogFormat = logFormatArg(args, g.LogFormat)
	}
	return exitCode(ctx, cmd, g.redact.Err(err), g)
}

// logFormatArg is the --log-format args give (the last one, as pflag
// reads them; none after "--"), else def. Every other word and flag is
// left alone: they may be wrong, which is the error being reported.
func logFormatArg(args []string, def string) string {
	fs := pflag.NewFlagSet("custody", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	format := fs.String("log-format", def, "")
	// Boolean flags of any command, so that the word after one is not
	// taken for its value and skipped.
	fs.BoolP("help", "h", false, "")
	if err := fs.Parse(args); err != nil {
		return def
	}
	return *format
}

// rejectUnknownSubcommands makes every group command (sim, matter,
// witness, bench, completion: subcommands and nothing to run of its own)
// and help refuse an argument that names no command, with cobra's
// "unknown command" usage error as the root gives it: cobra would print
// the group's help and exit 0. A group alone still prints its help. It
// adds cobra's help and completion commands first, as Execute would.
func rejectUnknownSubcommands(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() && c.HasSubCommands() && !c.Runnable() {
			c.Args = cobra.NoArgs
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range root.Commands() {
		if c.Name() != "help" {
			continue
		}
		c.Run = nil
		c.RunE = func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			switch {
			case err != nil:
				return withCode(exitUsage, err)
			case len(rest) > 0:
				return withCode(exitUsage, fmt.Errorf("unknown command %q for %q", rest[0], cmd.CommandPath()))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		}
	}
}

// isCobraUsageError recognises cobra's own argument errors, which it
// returns as plain errors (before the command runs: run checks that).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
