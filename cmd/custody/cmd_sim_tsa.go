package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/sim/tsasim"
)

func newSimTSACommand(g *globalOptions) *cobra.Command {
	var addr, fault, rootOut string
	var slow time.Duration
	cmd := &cobra.Command{
		Use:   "tsa [--addr HOST:PORT] [--fault NAME] [--root-out FILE]",
		Short: "Serve a test RFC 3161 timestamp authority with its own test CA",
		Long: `Tsa starts a test RFC 3161 timestamp authority on loopback: a fresh test
CA (a root and a TSA certificate with the critical timeStamping usage)
made at start and kept in memory. Once it listens it prints one JSON
line on stdout:

  {"url":…,"root_pem":…}

then serves until interrupted: Ctrl-C or SIGTERM stops it, exit 0 (it
waits up to 5 s for the requests it is answering, then cuts them). Give
the URL to 'custody checkpoint --tsa' and the root (--root-out writes it to
a file) to --tsa-roots. Its tokens prove nothing outside a test.

--fault makes it misbehave: down (503 to every request), slow (answers
after --slow), bad-signature, wrong-imprint, no-eku (a signer without
timeStamping), eku-not-critical (a signer whose timeStamping usage is not
critical), eku-not-only (a signer with documentSigning beside
timeStamping), ku-not-only (a signer whose key usage has keyEncipherment
beside digitalSignature), ca-no-certsign (a signer under an intermediate
CA whose key usage extension sets no bit, so not keyCertSign; the token
carries the intermediate), untrusted (a signer of another CA). POST
/sim/fault with a fault name as the body changes it while it runs
("none" clears it).

Examples:
  custody sim tsa --root-out tsa-root.pem
  custody sim tsa --fault down
` + exitStatus(`0    stopped by Ctrl-C or SIGTERM (also when requests still open
       were cut)`, exit1, exit2),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := tsasim.ParseFault(fault)
			if err != nil {
				return usageError("sim tsa: --fault: %v", err)
			}
			if err := checkListenAddr(addr); err != nil {
				return err
			}
			s, err := tsasim.Start(tsasim.Options{Addr: addr, Fault: f, SlowDelay: slow})
			if err != nil {
				return fmt.Errorf("sim tsa: %w", err)
			}
			if rootOut != "" {
				if err := matter.WriteNew(rootOut, s.RootPEM, 0o644); err != nil {
					s.Close()
					return fmt.Errorf("sim tsa: %w", err)
				}
			}
			line, _ := json.Marshal(map[string]string{"url": s.URL, "root_pem": string(s.RootPEM)})
			fmt.Fprintf(g.stdout, "%s\n", line)
			if f, ok := g.stdout.(*os.File); ok {
				_ = f.Sync()
			}
			<-cmd.Context().Done()
			return stopServer(g, "sim tsa", s.Shutdown, s.Close)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address (port 0: a free port)")
	cmd.Flags().StringVar(&fault, "fault", "none", "misbehave: none, down, slow, bad-signature, wrong-imprint, no-eku, eku-not-critical, eku-not-only, ku-not-only, ca-no-certsign, untrusted")
	cmd.Flags().DurationVar(&slow, "slow", 5*time.Second, "the delay of --fault slow")
	cmd.Flags().StringVar(&rootOut, "root-out", "", "also write the test CA's root certificate (PEM) here (refuses to overwrite)")
	return cmd
}
