package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/verify"
	"github.com/custodyhq/custody/internal/witness"
)

// maxArgFile bounds a checkpoint note or proof file named on the command
// line: far above any (a proof is at most 256 KiB, leaf.ParseProof), low
// enough that a wrong path (an image, /dev/zero) costs nothing.
const maxArgFile = 4 << 20

// readKeyArg returns v itself when it is a key (hashchain.IsKeyText: a
// key is never looked up as a file), else the key read from the file v,
// or v when no such file exists and v looks like one (a damaged key,
// which the caller's parse then names); and arg,
// what messages call it: "--flag FILE", or "--flag (the key given
// inline)". A message about a key names the argument, never quotes the
// key: a wrong file can hold anything, a secret included, at any length.
func readKeyArg(flag, v string) (key, arg string, err error) {
	if hashchain.IsKeyText(v) { // the key itself, never a file of that name
		return strings.TrimSpace(v), "--" + flag + " (the key given inline)", nil
	}
	b, err := fsinfo.ReadRegular(v, matter.MaxKeyFile)
	if errors.Is(err, fs.ErrNotExist) && strings.Count(v, "+") >= 2 {
		return strings.TrimSpace(v), "--" + flag + " (the key given inline)", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("--%s: %w", flag, err)
	}
	return strings.TrimSpace(string(b)), "--" + flag + " " + v, nil
}

// readWitnessKey reads verify's --witness verifier key (inline or a file).
func readWitnessKey(v string) (string, error) { return readWitnessKeyFlag("verify", "witness", v) }

// readWitnessKeyFlag reads a witness verifier key (inline or a file) given
// to command cmdName as --flag; errors name both. A file that cannot be
// read is exit 1, as on every command; a signer key, or no key, exit 2.
func readWitnessKeyFlag(cmdName, flag, v string) (string, error) {
	k, arg, err := readKeyArg(flag, v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", cmdName, err)
	}
	if strings.HasPrefix(k, "PRIVATE+") {
		return "", usageError("%s: %s is a witness's signer key; give its verifier key (.pub)", cmdName, arg)
	}
	if _, err := witness.NewVerifier(k); err != nil {
		return "", usageError("%s: %s: not a witness verifier key (the NAME+HASH+KEY line 'custody witness keygen' writes to PREFIX.pub): %v", cmdName, arg, err)
	}
	return k, nil
}

func newWitnessCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Run a witness that cosigns consistent checkpoints",
		Long: `A witness is a second party — counsel, an auditor — that keeps the last
checkpoint it cosigned for each ledger and cosigns a new one only when a
consistency proof shows the new tree extends the old: so the custodian
cannot show one history to one party and another to someone else, nor
rewrite or cut history, without the witnesses refusing. Cosignatures
are C2SP tlog-cosignature (cosignature/v1, Ed25519) note signature lines;
'custody verify --witness KEY' requires them.

Examples:
  custody witness keygen --name counsel.example/w1 --out counsel
  custody witness serve --key counsel.key --log-key matter-42.pub --state witness-state
  custody witness cosign --key counsel.key --log-key matter-42.pub --state witness-state --checkpoint cp.txt --proof cp.proof
` + exitStatus(exit0, exit2),
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newWitnessKeygenCommand(g), newWitnessServeCommand(g), newWitnessCosignCommand(g),
		newWitnessProofCommand(g), newWitnessAttachCommand(g))
	return cmd
}

func newWitnessKeygenCommand(g *globalOptions) *cobra.Command {
	var name, out string
	cmd := &cobra.Command{
		Use:   "keygen --name NAME --out PREFIX",
		Short: "Make a witness key pair",
		Long: `Keygen makes an Ed25519 witness key pair named NAME (a schema-less URL
that identifies the witness, e.g. counsel.example/w1): PREFIX.key, the
signer key (mode 0600, keep it secret), and PREFIX.pub, the
cosignature/v1 verifier key to give to whoever runs 'custody verify
--witness'. It refuses to overwrite either file.

Examples:
  custody witness keygen --name counsel.example/w1 --out counsel
` + exitStatus(exit0, exit1, exit2),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return usageError("witness keygen: --name and --out are required")
			}
			skey, vkey, err := witness.GenerateKey(name)
			if err != nil {
				return usageError("witness keygen: --name %q: %v", name, err)
			}
			if err := matter.WriteNew(out+".key", []byte(skey+"\n"), 0o600); err != nil {
				return fmt.Errorf("witness keygen: %w", err)
			}
			if err := matter.WriteNew(out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
				os.Remove(out + ".key")
				return fmt.Errorf("witness keygen: %w", err)
			}
			if g.jsonOutput() {
				return g.writeJSON(map[string]string{"verifier_key": vkey, "signer_key_file": out + ".key", "verifier_key_file": out + ".pub"})
			}
			fmt.Fprintln(g.stdout, vkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the witness's name (e.g. counsel.example/w1)")
	cmd.Flags().StringVar(&out, "out", "", "file prefix: writes PREFIX.key and PREFIX.pub")
	return cmd
}

// witnessFlags are the flags serve and cosign share.
type witnessFlags struct {
	Key     string
	LogKeys []string
	State   string
}

func (f *witnessFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Key, "key", "", "the witness's signer key file (from 'custody witness keygen')")
	cmd.Flags().StringArrayVar(&f.LogKeys, "log-key", nil, "a ledger's verifier key, or a file holding it (its custody.pub): a ledger the witness cosigns (repeatable)")
	cmd.Flags().StringVar(&f.State, "state", "witness-state", "folder where the witness keeps the last checkpoint it cosigned per ledger")
}

// open makes the witness the flags name. Only a flag left out is a usage
// error: a key file that cannot be read, or holds no key of the kind its
// flag needs, is bad input (exit 1), as an unreadable file is on every
// other command. Errors name the flag and file and say what is wrong;
// they never quote what the file holds (a signer key given as --log-key
// would be printed, and logged, for anyone to read).
func (f *witnessFlags) open(cmdName string) (*witness.Witness, error) {
	if f.Key == "" || len(f.LogKeys) == 0 {
		return nil, usageError("witness %s: --key and at least one --log-key are required", cmdName)
	}
	skey, arg, err := readKeyArg("key", f.Key)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", cmdName, err)
	}
	if _, err := fnote.NewSignerForCosignatureV1(skey); err != nil {
		return nil, fmt.Errorf("witness %s: %s: not a witness signer key (the PREFIX.key 'custody witness keygen' writes): %s", cmdName, arg, hashchain.SignerKeyProblem(skey, err))
	}
	var logs []string
	for _, k := range f.LogKeys {
		lk, arg, err := readKeyArg("log-key", k)
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", cmdName, err)
		}
		if _, err := note.NewVerifier(lk); err != nil {
			return nil, fmt.Errorf("witness %s: %s: not a verifier key (a ledger's custody.pub): %s", cmdName, arg, hashchain.VerifierKeyProblem(lk, err))
		}
		logs = append(logs, lk)
	}
	w, err := witness.New(skey, logs, f.State)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", cmdName, err)
	}
	return w, nil
}

func newWitnessServeCommand(g *globalOptions) *cobra.Command {
	f := &witnessFlags{}
	var addr string
	cmd := &cobra.Command{
		Use:   "serve --key FILE --log-key KEY... [--addr HOST:PORT] [--state DIR]",
		Short: "Serve the C2SP tlog-witness add-checkpoint API",
		Long: `Serve answers POST /add-checkpoint (C2SP tlog-witness): the body is
"old <size>", the consistency proof lines, an empty line and a signed
checkpoint of a ledger named by --log-key. It answers the cosignature
lines (200), or 400 (malformed, old size larger than the checkpoint),
403 (not signed by the ledger's key), 404 (a ledger it does not know),
409 (the old size is not the size it last cosigned — the body is that
size — or the same size with another root: a fork) or 422 (the
consistency proof fails). Its state is persisted before it answers.

It holds --state (its lock file witness.lock) while it runs: a second
'witness serve' or a 'witness cosign' on the same folder is refused,
naming its pid, since two witnesses sharing a state could each cosign
another fork of the same size.

Once it listens it prints one JSON line on stdout, its URL and the name
of its key:

  {"url":…,"witness":…}

then serves until interrupted: Ctrl-C or SIGTERM stops it, exit 0. It
waits up to 5 s for the requests it is answering, then cuts them (a
warning says so).

Examples:
  custody witness serve --key counsel.key --log-key matter-42.pub --addr 127.0.0.1:7380
  custody checkpoint --witness http://127.0.0.1:7380
` + exitStatus(`0    stopped by Ctrl-C or SIGTERM (also when requests still open
       were cut)`, exit1, exit2),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkListenAddr(addr); err != nil {
				return err
			}
			w, err := f.open("serve")
			if err != nil {
				return err
			}
			// For its lifetime: a second witness on this --state (another
			// serve, a cosign) would cosign a fork of what this one did.
			if err := w.Hold("custody witness serve", 0); err != nil {
				return fmt.Errorf("witness serve: %w", err)
			}
			defer w.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("witness serve: %w", err)
			}
			// A request is at most 64 KiB (witness.MaxBody): a client that
			// trickles one, or holds an idle connection, is cut off rather
			// than holding a goroutine and a connection for ever.
			srv := &http.Server{Handler: logRequests(g, witness.Handler(w)), ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			line, _ := json.Marshal(map[string]string{"url": "http://" + ln.Addr().String(), "witness": w.Name()})
			fmt.Fprintf(g.stdout, "%s\n", line)
			if f, ok := g.stdout.(*os.File); ok {
				_ = f.Sync()
			}
			select {
			case <-cmd.Context().Done():
			case err := <-done:
				return fmt.Errorf("witness serve: %w", err)
			}
			return stopServer(g, "witness serve", srv.Shutdown, srv.Close)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address (port 0: a free port)")
	return cmd
}

func newWitnessCosignCommand(g *globalOptions) *cobra.Command {
	f := &witnessFlags{}
	var checkpoint, proof, out string
	cmd := &cobra.Command{
		Use:   "cosign --key FILE --log-key KEY --checkpoint FILE [--proof FILE]",
		Short: "Cosign a checkpoint offline",
		Long: `Cosign does what 'witness serve' does for one checkpoint, with no
network: it checks the checkpoint (--checkpoint, from 'custody
checkpoint --out') against the last one this witness cosigned for its
ledger (in --state), with the consistency proof in --proof (from
'custody witness proof': the tlog-witness "old <size>" line and proof
lines; none needed for the first checkpoint a witness sees), and prints
the cosignature line, or writes it to --out. Give that file to the
custodian: 'custody witness attach' keeps it beside the checkpoint.
It locks --state while it runs; if another witness process holds it
('witness serve' on the same folder, another cosign) it waits up to 2 s,
then fails (exit 1): "the witness state is in use by pid …".

Examples:
  custody witness cosign --key counsel.key --log-key matter-42.pub --checkpoint cp.txt --proof cp.proof --out cp.cosig
` + exitStatus(exit0, exit1,
			"2    usage error (unknown flag; missing, invalid or contradictory argument; an --out file that exists)",
			"3    the checkpoint was refused: a fork, a rollback, a failing proof, a bad signature"),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := f.open("cosign")
			if err != nil {
				return err
			}
			if checkpoint == "" {
				return usageError("witness cosign: --checkpoint is required")
			}
			note, err := fsinfo.ReadRegular(checkpoint, witness.MaxBody)
			if err != nil {
				return fmt.Errorf("witness cosign: %w", err)
			}
			// Before the witness's state moves on: a cosignature that could
			// not be written would be lost, and the same request refused as
			// a conflict when asked again.
			if out != "" {
				if _, err := os.Lstat(out); err == nil {
					return usageError("witness cosign: --out %s exists (never overwritten)", out)
				}
			}
			// A file that is no signed checkpoint at all is bad input
			// (exit 1, as a --key file that holds no key), not a
			// checkpoint the witness refuses (exit 3).
			if _, err := hashchain.ParseSignedCheckpoint(note); err != nil {
				return fmt.Errorf("witness cosign: --checkpoint %s: %w", checkpoint, err)
			}
			req := witness.Request{Checkpoint: note}
			if proof != "" {
				p, err := fsinfo.ReadRegular(proof, witness.MaxBody)
				if err != nil {
					return fmt.Errorf("witness cosign: %w", err)
				}
				if req.OldSize, req.Proof, err = witness.ParseProof(p); err != nil {
					return withCode(exitFindings, fmt.Errorf("witness cosign: --proof: %w", err))
				}
			}
			// Only now: bad input leaves the state folder untouched.
			if err := w.Hold("custody witness cosign", witness.LockWait); err != nil {
				return fmt.Errorf("witness cosign: %w", err)
			}
			defer w.Close()
			sigs, err := w.Add(req)
			if err != nil {
				return withCode(exitFindings, fmt.Errorf("witness cosign: refused: %w", err))
			}
			if out != "" {
				if err := matter.WriteNew(out, sigs, 0o644); err != nil {
					// The witness has cosigned: keep the line, on stdout.
					g.stdout.Write(sigs)
					return fmt.Errorf("witness cosign: %w (the cosignature is on stdout)", err)
				}
				return nil
			}
			_, err = g.stdout.Write(sigs)
			return err
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "the signed checkpoint to cosign")
	cmd.Flags().StringVar(&proof, "proof", "", "the consistency proof from the last checkpoint this witness cosigned ('custody witness proof')")
	cmd.Flags().StringVar(&out, "out", "", "write the cosignature here (refuses to overwrite) instead of stdout")
	return cmd
}

func newWitnessProofCommand(g *globalOptions) *cobra.Command {
	var old uint64
	var out string
	cmd := &cobra.Command{
		Use:   "proof --old SIZE [--out FILE]",
		Short: "Write the consistency proof a witness needs for the latest checkpoint",
		Long: `Proof writes, for the ledger's latest checkpoint, the consistency proof
from the tree of --old entries (the size of the last checkpoint the
witness cosigned) in the C2SP tlog-witness form: "old <size>" and one
base64 hash a line. 'custody witness cosign --proof' reads it.

Examples:
  custody witness proof --old 120 --out cp.proof
` + exitStatus(exit0, exit1, exit2, exit3Ledger, exit130),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			m, err := openMatter(ctx, g, matter.Options{ReadOnly: true})
			if err != nil {
				return fmt.Errorf("witness proof: %w", err)
			}
			defer m.Close()
			cp, ok, err := m.Ledger.LatestCheckpoint(ctx)
			if err != nil {
				return fmt.Errorf("witness proof: %w", err)
			}
			if !ok {
				return fmt.Errorf("witness proof: the ledger has no checkpoint (run custody checkpoint)")
			}
			if old > cp.Size {
				return usageError("witness proof: --old %d is larger than the latest checkpoint's size %d", old, cp.Size)
			}
			p, err := m.Ledger.ConsistencyProof(ctx, old, cp.Size)
			if err != nil {
				return fmt.Errorf("witness proof: %w", err)
			}
			b := witness.MarshalProof(old, p)
			if out != "" {
				return matter.WriteNew(out, b, 0o644)
			}
			_, err = g.stdout.Write(b)
			return err
		},
	}
	cmd.Flags().Uint64Var(&old, "old", 0, "the size of the last checkpoint the witness cosigned (0: it has seen none)")
	cmd.Flags().StringVar(&out, "out", "", "write the proof here (refuses to overwrite) instead of stdout")
	return cmd
}

func newWitnessAttachCommand(g *globalOptions) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "attach --witness-key KEY FILE",
		Short: "Keep a witness's cosignature beside the checkpoint it signs",
		Long: `Attach reads cosignature lines (from 'custody witness cosign', or a
cosigned checkpoint: lines by other keys are skipped), checks
each with the witness's verifier key against the ledger's stored
checkpoints, and stores it beside the checkpoint it signs.

Examples:
  custody witness attach --witness-key counsel.pub cp.cosig
` + exitStatus(exit0, exit1, exit2, "3    no line by that witness, or one that signs no stored checkpoint; or the ledger file\n       is damaged or contradicts itself"),
		Args: oneArg("FILE (the cosignature lines)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if key == "" {
				return usageError("witness attach: --witness-key is required")
			}
			vkey, err := readWitnessKeyFlag("witness attach", "witness-key", key)
			if err != nil {
				return err
			}
			data, err := fsinfo.ReadRegular(args[0], witness.MaxBody)
			if err != nil {
				return fmt.Errorf("witness attach: %w", err)
			}
			m, err := openMatter(ctx, g, matter.Options{})
			if err != nil {
				return fmt.Errorf("witness attach: %w", err)
			}
			defer m.Close()
			n, err := attachCosignatures(ctx, m, vkey, string(data))
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				return g.writeJSON(map[string]int{"attached": n})
			}
			fmt.Fprintf(g.stdout, "attached %d %s\n", n, plural(n, "cosignature", "cosignatures"))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "witness-key", "", "the witness's verifier key, or a file holding it")
	return cmd
}

// attachCosignatures stores each cosignature line in data that vkey's
// witness made over one of the stored checkpoints, beside it.
func attachCosignatures(ctx context.Context, m *matter.Matter, vkey, data string) (int, error) {
	v, err := witness.NewVerifier(vkey)
	if err != nil {
		return 0, usageError("witness attach: --witness-key: not a witness verifier key: %v", err)
	}
	cps, err := m.Ledger.Checkpoints(ctx)
	if err != nil {
		return 0, fmt.Errorf("witness attach: %w", err)
	}
	n := 0
	for _, line := range strings.SplitAfter(data, "\n") {
		// Other lines — a checkpoint's text, its own signature, other
		// witnesses' — may be in the file (a cosigned note): skipped.
		if !strings.HasPrefix(line, "— "+v.Name()+" ") {
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		found := false
		for i := len(cps) - 1; i >= 0 && !found; i-- {
			names, err := verify.Cosigners(cps[i].Note, []string{line}, []note.Verifier{v})
			if err != nil || len(names) == 0 {
				continue
			}
			if err := m.Ledger.AddCosignature(ctx, cps[i].ID, v.Name(), line); err != nil {
				return n, fmt.Errorf("witness attach: %w", err)
			}
			found = true
			n++
		}
		if !found {
			return n, withCode(exitFindings, fmt.Errorf("witness attach: a line is not a cosignature by %s of any stored checkpoint", v.Name()))
		}
	}
	if n == 0 {
		return 0, withCode(exitFindings, fmt.Errorf("witness attach: no cosignature line by %s", v.Name()))
	}
	return n, nil
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs each request the witness answers: a refusal at warn
// (it may be a custodian showing two histories), a cosignature at info.
func logRequests(g *globalOptions, h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			g.log.Info("witness cosigned", "remote", r.RemoteAddr, "path", r.URL.Path)
		} else {
			g.log.Warn("witness refused", "remote", r.RemoteAddr, "path", r.URL.Path, "status", sw.status)
		}
	})
}
