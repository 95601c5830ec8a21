package report

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/shellarg"
)

// thirdPartyCommands are section 6's commands a third party runs, as they
// run: every path relative to one folder, the one that holds the ledger
// file (where custody init put it and its verifier key), and the report's
// folder named from there. What custody cannot name — a checkpoint the
// reader kept apart, the roots of the timestamp authorities they trust,
// a witness's key — is a comment saying which option to add, never a
// file in a command that does not exist. cps are the stored checkpoints
// (in is section 6 as filled so far); lf says which messages get a
// proof file.
func thirdPartyCommands(l *ledger.Ledger, o Options, lf *ledgerFacts, cps []ledger.StoredCheckpoint, in *Integrity) []string {
	dir, _ := filepath.Abs(filepath.Dir(l.Path()))
	rel := func(path string) string {
		abs, err := filepath.Abs(path)
		if err != nil {
			return path
		}
		if r, err := filepath.Rel(dir, abs); err == nil {
			return r
		}
		return abs
	}
	db := shellarg.Quote(filepath.Base(l.Path()))
	key := shellarg.Quote(filepath.Base(matter.VerifierKeyPath(l.Path())))
	out := rel(o.Out)
	verify := "custody --ledger " + db + " verify --key " + key
	var kept []string
	for _, x := range o.External {
		if st, err := os.Stat(x.Name); err == nil && st.Mode().IsRegular() {
			kept = append(kept, rel(x.Name))
		}
	}
	cmds := []string{
		fmt.Sprintf("# Run in the folder that holds the ledger, %s, beside it its verifier key %s (compare it with the key you received apart); every path is relative to that folder, and this report is in %s.", db, key, shellarg.Quote(out)),
		// The fingerprint hashes the key's one line, not the file, whose
		// newline sha256sum FILE would hash too: the command that
		// reproduces it exactly, never one that cannot match.
		fmt.Sprintf("# the verifier key: this prints the signer key fingerprint above, %s (SHA-256 of the key's line without the file's newline: sha256sum %s alone, which hashes the newline too, does not; on macOS use shasum -a 256):", in.KeyFingerprint, key),
		`tr -d '\n' < ` + key + " | sha256sum",
		"# the ledger, its signed checkpoints" + map[bool]string{true: ", the checkpoints kept outside it that this report checked,", false: ""}[len(kept) > 0] + " and every evidence object:",
	}
	line := verify
	for _, k := range kept {
		line += " --checkpoint " + shellarg.Quote(k)
	}
	cmds = append(cmds, line+" --evidence")
	cmds = append(cmds, "#   add --checkpoint FILE for each checkpoint you kept apart from the ledger (custody checkpoint --out FILE wrote it, and it was handed to you): FILE is your placeholder, not a file custody wrote")
	var tokens, cosigned bool
	for _, c := range in.Checkpoints {
		tokens = tokens || len(c.Timestamps) > 0
		cosigned = cosigned || len(c.Witnesses) > 0
	}
	if tokens {
		cmds = append(cmds, "#   add --tsa-roots ROOTS.pem (placeholder: the roots of the timestamp authorities you trust) to prove the checkpoints' times, which this report only states as claimed")
	}
	if cosigned {
		cmds = append(cmds, "#   add --witness WITNESS.pub (placeholder: each witness key you trust) to check the cosignatures this report only names")
	}
	if o.NoRecord {
		cmds = append(cmds, "# this report was written with --no-record: no report entry records it, so custody verify --report cannot confirm it")
	} else {
		cmds = append(cmds, "# this report is the one custody recorded, unchanged:",
			"custody --ledger "+db+" verify --report "+shellarg.Quote(filepath.Join(out, "report.html")))
	}
	if seq, ok := proofExample(o, lf, cps, in); ok {
		cmds = append(cmds, "# one message, offline, with nothing but its proof file and the verifier key (section 5 links each message's):",
			"custody verify --proof "+shellarg.Quote(filepath.Join(out, proofsDir, fmt.Sprintf("%d.proof.json", seq)))+" --key "+key)
	} else {
		cmds = append(cmds, "# one message, offline, with nothing but its proof file and the verifier key: custody prove --seq SEQ --out SEQ.proof.json writes one (SEQ, a placeholder: the message's seq, section 5), then",
			"#   custody verify --proof SEQ.proof.json --key "+key)
	}
	return cmds
}

// proofExample is the seq of a message whose proof file this report
// writes, as generate decides it (a verified ledger, a checkpoint, the
// --proofs policy), when it can be told before the transcripts are read:
// not under --interval, which may leave any message out.
func proofExample(o Options, lf *ledgerFacts, cps []ledger.StoredCheckpoint, in *Integrity) (uint64, bool) {
	if o.Proofs == ProofsNone || len(cps) == 0 || !in.Verified.OK || o.Interval != "" {
		return 0, false
	}
	size := cps[len(cps)-1].Size
	for _, c := range lf.order {
		if c.shown == 0 || (o.Proofs != ProofsAll && !c.held) {
			continue
		}
		for _, s := range c.msgSeqs {
			if s < size {
				return s, true
			}
		}
	}
	return 0, false
}
