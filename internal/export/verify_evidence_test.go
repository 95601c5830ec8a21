package export_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// TestEvidenceCheckFindsTampering exports, then damages the evidence
// folder three ways, and checks verify --evidence names each.
func TestEvidenceCheckFindsTampering(t *testing.T) {
	e := newEnv(t, 12, "")
	e.run(t, intervalScope())
	ctx := context.Background()
	check := func() verify.Report {
		t.Helper()
		rep, err := verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := check()
	if !rep.OK || rep.Evidence.Referenced == 0 || rep.Evidence.Unreferenced != 0 {
		t.Fatalf("clean export: ok=%v findings %v report %+v", rep.OK, rep.Findings, rep.Evidence)
	}

	// Pick two referenced objects: alter one, delete the other; add a stray.
	var sums []string
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		if s := en.EvidenceSHA256.String(); len(sums) == 0 || sums[len(sums)-1] != s {
			sums = append(sums, s)
		}
	}
	if len(sums) < 2 {
		t.Fatalf("need two evidence objects, have %d", len(sums))
	}
	path := func(s string) string {
		return filepath.Join(e.dir, "evidence", filepath.FromSlash(evidence.Key(mustHash(t, s))))
	}
	altered, deleted := sums[0], sums[1]
	if err := os.Chmod(path(altered), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path(altered), []byte(`{"entities":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path(deleted)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Put(ctx, []byte("stray bytes from an interrupted run")); err != nil {
		t.Fatal(err)
	}

	rep = check()
	if rep.OK {
		t.Fatal("verify passed over altered and missing evidence")
	}
	var msgs []string
	for _, f := range rep.Findings {
		msgs = append(msgs, f.String())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{altered + " was altered", deleted + " is missing"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q:\n%s", want, all)
		}
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[len(rep.Warnings)-1].Message, "referenced by no entry") {
		t.Errorf("no warning for the unreferenced object: %v", rep.Warnings)
	}
}

func verifyWithEvidence(e *env) verify.Options {
	return verify.Options{VerifierKey: e.ledger.VerifierKey(), Evidence: e.store}
}
