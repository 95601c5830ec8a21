package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/matter"
)

type initOptions struct {
	Matter string
}

func (o *initOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Matter, "matter", "", "name of the matter (case, investigation) this ledger is for (required)")
}

func newInitCommand(g *globalOptions) *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init --matter NAME",
		Short: "Create a ledger and its checkpoint signing key",
		Long: `Init creates a new, empty ledger (--ledger, default custody.db) for a
matter, and an Ed25519 key that signs its checkpoints:

  custody.key  the signer key, mode 0600: keep it secret, back it up
  custody.pub  the verifier key: give it to auditors and counsel

(named after the ledger: --ledger matter-42.db makes matter-42.key and
matter-42.pub).
The ledger gets a random id; its checkpoints carry the origin
"custody/<id>", which is also the key's name. The verifier key is printed
on stdout. Init never overwrites an existing ledger or key file.

Init is safe to stop (Ctrl-C, kill, power loss): it builds the ledger
under a hidden .partial name and puts it in place last, once both keys
are written. Run again, it removes what a stopped init left (partial
ledger and key files; from an older custody, which made the ledger
before its keys, a ledger with no entry and no key beside it, as that
init made it and nothing more) and says so. A ledger with a key missing
is never removed when it is a matter: it holds entries, records an
evidence store, a setting (timestamp authorities, witnesses), a run or a
signed checkpoint, or this custody's init finished it (it marks the
ledger once both keys are written: its key files were moved away, into
a vault say, and its custody.pub may be with an auditor already); nor an
empty one whose verifier key is beside it without its signer key. init
refuses, saying what to restore or remove.

Examples:
  custody init --matter "acme-v-smith"
  custody --ledger /data/matter-42.db init --matter matter-42 --output json
` + exitStatus(exit0, exit1, exit2),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInit(cmd.Context(), o, g) },
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runInit(ctx context.Context, o *initOptions, g *globalOptions) error {
	if o.Matter == "" {
		return usageError("init: --matter is required")
	}
	keyFile, pubFile := matter.SignerKeyPath(g.Ledger), matter.VerifierKeyPath(g.Ledger)
	if keyFile == g.Ledger || pubFile == g.Ledger {
		return usageError("init: the ledger file must not end in .key or .pub")
	}
	if err := ledgerFolderExists(g.Ledger); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	m, err := matter.Create(ctx, matter.Options{Ledger: g.Ledger, Command: g.command, Warn: g.warn}, o.Matter)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	defer m.Close()
	l := m.Ledger

	if g.jsonOutput() {
		return g.writeJSON(map[string]string{
			"ledger":            g.Ledger,
			"ledger_id":         l.ID(),
			"matter":            l.Matter(),
			"origin":            l.Origin(),
			"signer_key_file":   keyFile,
			"verifier_key_file": pubFile,
			"verifier_key":      l.VerifierKey(),
		})
	}
	fmt.Fprintf(g.stderr, "custody: created ledger %s for matter %q (origin %s)\n", g.Ledger, l.Matter(), l.Origin())
	fmt.Fprintf(g.stderr, "custody: signer key %s (mode 0600: keep it secret); verifier key %s:\n", keyFile, pubFile)
	fmt.Fprintln(g.stdout, l.VerifierKey())
	return nil
}

// ledgerFolderExists says, before anything is made, when the folder the
// ledger goes in is missing or not a folder: init creates files, not
// folders, and the first file it fails to make (the lock) named neither
// the folder nor what to do.
func ledgerFolderExists(ledger string) error {
	dir := filepath.Dir(ledger)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("folder %s does not exist: create it first (init makes the ledger and its keys, not the folder)", dir)
	case errors.Is(err, syscall.ENOTDIR):
		// A file where the path needs a folder, higher up.
		return fmt.Errorf("%s is not a folder: a part of its path is a file; give --ledger a path in a folder", dir)
	case err != nil:
		return err // os.Stat's error names the path once
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder: give --ledger a path in a folder", dir)
	}
	return nil
}
