package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestExpandOptionalValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"verify --evidence", "verify --evidence"},
		{"verify --evidence --output json", "verify --evidence --output json"},
		{"verify --evidence s3://b/p", "verify --evidence=s3://b/p"},
		{"verify --evidence=s3://b/p", "verify --evidence=s3://b/p"},
		{"diff --evidence ev old", "diff --evidence=ev old"},
		{"diff old --evidence", "diff old --evidence"},
		{"diff -- --evidence x", "diff -- --evidence x"},
		{"export --evidence-legal-hold --interval x", "export --evidence-legal-hold --interval x"},
	}
	for _, tt := range tests {
		got := strings.Join(expandOptionalValue(strings.Fields(tt.in), "evidence"), " ")
		if got != tt.want {
			t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDeprecatedAliases: every deprecated alias, on every command, is
// hidden, names a flag the same command has, and shares its value — and
// no two commands give one flag name different alias targets.
func TestDeprecatedAliases(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	var walk func(*cobra.Command)
	targets := map[string]string{}
	n := 0
	walk = func(c *cobra.Command) {
		fs := c.Flags()
		fs.VisitAll(func(f *pflag.Flag) {
			to := f.Annotations[deprecatedAnnotation]
			if len(to) == 0 {
				return
			}
			n++
			if !f.Hidden {
				t.Errorf("%s: --%s is deprecated but not hidden", c.CommandPath(), f.Name)
			}
			target := fs.Lookup(to[0])
			if target == nil {
				t.Errorf("%s: --%s stands for --%s, which it does not have", c.CommandPath(), f.Name, to[0])
				return
			}
			if prev, ok := targets[f.Name]; ok && prev != to[0] {
				t.Errorf("--%s stands for --%s on one command and --%s on another", f.Name, prev, to[0])
			}
			targets[f.Name] = to[0]
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(g))
	for _, want := range []string{"rate", "s3-legal-hold", "evidence-store", "audit-service-name", "with-media"} {
		if _, ok := targets[want]; !ok {
			t.Errorf("no command keeps the old spelling --%s", want)
		}
	}
	if n == 0 {
		t.Fatal("no aliases found")
	}
}

// TestOneMeaning: a flag name shared by commands has one usage text on
// all of them, but for the few whose help says per command what they do
// there.
func TestOneMeaning(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	usage := map[string]map[string][]string{} // name → usage → commands
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if usage[f.Name] == nil {
				usage[f.Name] = map[string][]string{}
			}
			usage[f.Name][f.Usage] = append(usage[f.Name][f.Usage], c.CommandPath())
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(g))
	for _, name := range []string{"evidence-legal-hold", "s3-endpoint", "s3-region", "s3-path-style", "s3-profile", "s3-requests", "audit-service", "api-url"} {
		if len(usage[name]) != 1 {
			var cmds []string
			for u, c := range usage[name] {
				cmds = append(cmds, u+": "+strings.Join(c, ", "))
			}
			slices.Sort(cmds)
			t.Errorf("--%s has %d meanings:\n%s", name, len(usage[name]), strings.Join(cmds, "\n"))
		}
	}
}

// TestExportMediaDefault: export downloads attachments unless told not
// to; the old --with-media still works, as an alias of --media.
func TestExportMediaDefault(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--media=false"}, false},
		{[]string{"--with-media"}, true},
		{[]string{"--with-media=false"}, false},
	} {
		o := &exportOptions{}
		fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if o.Media != tt.want {
			t.Errorf("%v: media %v, want %v", tt.args, o.Media, tt.want)
		}
	}
}
