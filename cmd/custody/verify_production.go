package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

// runVerifyProduction is verify --production DIR.
func runVerifyProduction(ctx context.Context, o *verifyOptions, g *globalOptions) error {
	switch fi, err := os.Stat(o.Production); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("verify: --production %s: no such folder", o.Production)
	case err != nil:
		return fmt.Errorf("verify: --production: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("verify: --production %s: not a folder", o.Production)
	}
	opts := verify.ProductionOptions{}
	// The matter's ledger, when there is one here: the production entry
	// must be in it. Opened read-only; without it the check is offline
	// (and the output says so). A ledger the user named must be there.
	if _, err := os.Stat(g.Ledger); err == nil || g.ledgerNamed {
		m, err := openMatter(ctx, g, matter.Options{ReadOnly: true, VerifierKey: o.Key})
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		defer m.Close()
		opts.Ledger = m.Ledger
	}
	key, err := matter.ReadVerifierKey(o.Key, g.Ledger)
	if err != nil && o.Key != "" {
		return matterError(fmt.Errorf("verify: %w", err))
	}
	if key == "" {
		own := filepath.Join(o.Production, production.VerifierKeyFile)
		if key, err = matter.ReadVerifierKey(own, ""); err != nil || key == "" {
			return usageError("verify: --production needs the ledger's verifier key: --key KEY or --key FILE")
		}
		g.note(fmt.Sprintf("checking the production with its own %s: that shows only that the production agrees with itself; pass --key with a copy of the ledger's verifier key obtained independently", own))
	} else if o.Key == "" {
		g.note(defaultKeyNote("production", g.Ledger, opts.Ledger != nil, filepath.Join(o.Production, production.VerifierKeyFile)))
	}
	opts.VerifierKey = key
	rep, err := verify.Production(ctx, o.Production, opts)
	if err != nil {
		return err
	}
	// The timestamp tokens and witness cosignatures the production
	// carries, checked as verify --proof checks them (against
	// --tsa-roots, requiring the --witness keys): those of the checkpoint
	// its messages are proved against (every message proof shares it)
	// and those of the production entry's. A token or cosignature that
	// fails, or too few cosignatures, is a failure.
	var atts []productionAttestation
	var attFails []string
	type attested struct{ what, file string }
	var check []attested
	for _, f := range rep.MessagesProofs { // one unless they differ, itself a finding
		check = append(check, attested{"messages", f})
	}
	for _, a := range append(check, attested{"production entry", production.ProofFile}) {
		name := filepath.Join(o.Production, filepath.FromSlash(a.file))
		data, err := fsinfo.ReadRegular(name, maxArgFile)
		if err != nil {
			continue // a finding of verify.Production already
		}
		po := *o
		po.Proof = a.file
		att, err := proofAttestations(&po, data)
		var ee *exitErr
		switch {
		case errors.As(err, &ee) && ee.code == exitFindings:
			attFails = append(attFails, strings.TrimPrefix(err.Error(), "verify: "))
			if !att.timeChecked || att.time == nil {
				continue
			}
			// Only the witness check failed: the time its tokens
			// prove still holds, and is said.
			att.witnesses = nil
		case err != nil:
			return err
		}
		atts = append(atts, productionAttestation{What: a.what, Proof: a.file, Time: att.time, Witnesses: att.witnesses})
	}
	holds := rep.OK && len(attFails) == 0
	// A production a signed erasure entry recalls verifies byte for byte
	// but is not to be relied on as it is: RECALLED, not OK.
	ok := holds && !rep.IsRecalled()
	if g.jsonOutput() {
		out := struct {
			*verify.ProductionReport
			OK           bool                    `json:"ok"`
			Attestations []productionAttestation `json:"attestations"`
			AttFindings  []string                `json:"attestation_findings,omitempty"`
		}{rep, ok, atts, attFails}
		if out.Attestations == nil {
			out.Attestations = []productionAttestation{}
		}
		if err := g.writeJSON(out); err != nil {
			return err
		}
	} else {
		w := g.stdout
		fmt.Fprintf(w, "production   %s (ledger %s, entry %d)\n", rep.Dir, rep.Origin, rep.ProductionSeq)
		fmt.Fprintf(w, "files        %d listed, %d conversations, %d messages, %d proofs checked\n", rep.Files, rep.Conversations, rep.Messages, rep.Proofs)
		if rep.Erased > 0 {
			fmt.Fprintf(w, "erased       %d selected messages left out, an erasure deleted their content (manifest.json lists them)\n", rep.Erased)
		}
		switch {
		case rep.InLedger:
			fmt.Fprintf(w, "ledger       the production entry is in %s\n", g.Ledger)
		case rep.LedgerChecked:
			fmt.Fprintf(w, "ledger       %s does not hold the production entry\n", g.Ledger)
		case opts.Ledger == nil:
			fmt.Fprintf(w, "ledger       none checked: there is no ledger at %s, so the production entry was not looked up in its ledger (name it with --ledger)\n", g.Ledger)
		}
		if n := len(rep.Ignored); n > 0 {
			names := rep.Ignored[:min(n, 10)]
			more := ""
			if n > len(names) {
				more = fmt.Sprintf(" and %d more", n-len(names))
			}
			fmt.Fprintf(w, "WARN  ignored: files the operating system adds, not in the manifest and not part of the production: %s%s\n", strings.Join(names, ", "), more)
		}
		for _, u := range rep.Unchecked {
			fmt.Fprintf(w, "WARN  not checked: %s\n", u)
		}
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "FAIL  %s\n", f)
		}
		if rep.Omitted > 0 {
			fmt.Fprintf(w, "FAIL  … and %d more\n", rep.Omitted)
		}
		for _, a := range atts {
			if a.Time != nil {
				fmt.Fprintf(w, "time         %s (size %d) %s\n", a.label(), a.Time.Size, timeLine(*a.Time))
			}
			if len(a.Witnesses) > 0 {
				fmt.Fprintf(w, "witnessed    %s, by %d: %s\n", a.label(), len(a.Witnesses), strings.Join(a.Witnesses, ", "))
			}
		}
		for _, f := range attFails {
			fmt.Fprintf(w, "FAIL  %s\n", f)
		}
		printRecalls(w, fmt.Sprintf("production %s (production entry %d)", rep.Dir, rep.ProductionSeq), rep.Recalled)
		if ok {
			fmt.Fprintln(w, "OK    every check holds")
		}
	}
	if holds && !ok {
		return withCode(exitUnsigned, fmt.Errorf("verify: production RECALLED: erasure entry %d lists production entry %d for recall", firstRecall(rep.Recalled).Erasure, rep.ProductionSeq))
	}
	if !ok {
		n := len(rep.Findings) + rep.Omitted + len(attFails)
		first := ""
		if len(rep.Findings) > 0 {
			first = rep.Findings[0].String()
		} else {
			first = attFails[0]
		}
		return withCode(exitFindings, fmt.Errorf("verify: production FAILED, %d %s; first: %s", n, plural(n, "finding", "findings"), first))
	}
	return nil
}

// productionAttestation is what the tokens and cosignatures of one of a
// production's checkpoints show, checked.
type productionAttestation struct {
	What      string                 `json:"checkpoint"` // "messages" or "production entry"
	Proof     string                 `json:"proof"`
	Time      *verify.CheckpointTime `json:"proven_at"`
	Witnesses []string               `json:"witnesses"`
}

// defaultKeyNote says which key verify --production or --proof (what)
// used when no --key was given: the verifier key file beside the ledger
// path. Only beside a ledger is it the custodian's own copy. With no
// ledger there (run inside a delivered production folder, say) it is a
// file nothing vouches for; when it is the production's own custody.pub
// (own, the same file), the check shows only that what was delivered
// agrees with itself.
func defaultKeyNote(what, ledgerPath string, ledgerHere bool, own ...string) string {
	keyPath := matter.VerifierKeyPath(ledgerPath)
	if ledgerHere {
		return fmt.Sprintf("checking the %s with %s, the verifier key beside the ledger (the custodian's own copy); an auditor should pass --key with a copy of the key obtained independently", what, keyPath)
	}
	if kfi, err := os.Stat(keyPath); err == nil {
		for _, p := range own {
			if fi, err := os.Stat(p); err == nil && os.SameFile(kfi, fi) {
				agrees := "the production agrees with itself"
				if what != "production" {
					agrees = "the " + what + " agrees with the key delivered with it"
				}
				return fmt.Sprintf("checking the %s with %s, the production's own key (there is no ledger at %s): that shows only that %s; pass --key with a copy of the ledger's verifier key obtained independently", what, keyPath, ledgerPath, agrees)
			}
		}
	}
	return fmt.Sprintf("checking the %s with %s, a key file with no ledger beside it (there is none at %s): it is not the custodian's copy of the key, and nothing says whose it is; pass --key with a copy of the ledger's verifier key obtained independently", what, keyPath, ledgerPath)
}

func (a productionAttestation) label() string {
	if a.What == "messages" {
		return "the messages' checkpoint"
	}
	return "the " + a.What + "'s checkpoint"
}
