package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/tsasim"
)

// choiceCompletions are the values shell completion offers for every flag
// that takes one of a closed set, by flag name: the same name means the
// same flag on every command (flags.go). Each list comes from the table
// the command checks the value against, so the two cannot drift.
func choiceCompletions() map[string]cobra.CompletionFunc {
	fixed := func(values ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	kinds := []string{}
	for _, k := range leaf.Kinds() {
		kinds = append(kinds, k.Name+"\t"+k.Doc)
	}
	return map[string]cobra.CompletionFunc{
		// --output depends on the command: diff also writes csv and jsonl.
		"output": func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			allowed := []string{"text", "json"}
			if a, ok := cmd.Annotations[outputsAnnotation]; ok {
				allowed = strings.Split(a, ",")
			}
			return allowed, cobra.ShellCompDirectiveNoFileComp
		},
		"log-format": fixed("text", "json"),
		"log-level":  fixed("debug", "info", "warn", "error"),
		// --format depends on the command too: produce's are its formats.
		"format": func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if a, ok := cmd.Annotations[formatsAnnotation]; ok {
				return strings.Split(a, ","), cobra.ShellCompDirectiveNoFileComp
			}
			return append([]string{string(exportfile.FormatAuto)}, exportfile.Shapes()...), cobra.ShellCompDirectiveNoFileComp
		},
		"kind":         fixed(kinds...),
		"export-shape": fixed(recexport.ShapeGenesys, recexport.ShapeReshape),
		"region":       fixed(fetch.RegionNames()...),
		"proofs":       fixed(report.ProofsHeld, report.ProofsAll, report.ProofsNone),
		"message-type": fixed(fetch.MessageTypes...),
		"fault":        fixed(append([]string{"none"}, tsaFaults()...)...),
		"fields":       fixed(leaf.ProvableFields[:]...),
	}
}

func tsaFaults() []string {
	var out []string
	for _, f := range tsasim.Faults {
		out = append(out, string(f))
	}
	return out
}

// formatsAnnotation, on a command, lists its --format values when they
// are not the export-file formats of diff.
const formatsAnnotation = "custody/formats"

// registerCompletions registers choiceCompletions on every command of the
// tree under root that declares one of those flags.
func registerCompletions(root *cobra.Command) {
	comp := choiceCompletions()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// LocalFlags builds the set anew each call: once a command, not
		// once a choice (a quarter of building the commands, at every
		// start of the binary).
		local := c.LocalFlags()
		for name, fn := range comp {
			if local.Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn) // only fails for an unknown or already registered flag
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// shellExamples are completion's examples, by shell: where the script
// goes so that every new shell loads it.
var shellExamples = map[string]string{
	"bash":       "custody completion bash > ~/.local/share/bash-completion/completions/custody\n  (make the folder first on a new account: mkdir -p ~/.local/share/bash-completion/completions)",
	"zsh":        `custody completion zsh > "${fpath[1]}/_custody"`,
	"fish":       "custody completion fish > ~/.config/fish/completions/custody.fish\n  (make the folder first on a new account: mkdir -p ~/.config/fish/completions)",
	"powershell": "custody completion powershell | Out-String | Invoke-Expression",
}

// describeCompletion adds cobra's completion command to root now (Execute
// would, but after the help tests look) and gives it and each shell's
// command what every custody command's help has: examples and an EXIT
// STATUS block.
func describeCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Long = strings.TrimRight(c.Long, "\n") + "\n\nExamples:\n  " + shellExamples["bash"] + "\n  custody completion zsh --help\n" +
			exitStatus(exit0, "2    usage error (a shell custody writes no script for, unknown flag)")
		for _, sh := range c.Commands() {
			ex := shellExamples[sh.Name()]
			if ex == "" {
				ex = "custody completion " + sh.Name()
			}
			sh.Long = strings.TrimRight(sh.Long, "\n") + "\n\nExamples:\n  " + ex + "\n" +
				exitStatus(exit0, "1    error (the script could not be written)", "2    usage error (unknown flag, an argument)")
		}
	}
}
