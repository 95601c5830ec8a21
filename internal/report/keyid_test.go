package report_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestCheckpointKeyID: the checkpoints' key column is the key's NAME+HASH
// (the first two '+'-separated fields of NAME+HASH+KEY) even when the
// base64 key material holds a '+', which the column once cut at.
func TestCheckpointKeyID(t *testing.T) {
	var env *ledgertest.Env
	for i := 0; i < 64 && env == nil; i++ { // half of all keys have a '+' in their base64
		e := ledgertest.New(t, fmt.Sprintf("keyid-%d", i))
		if strings.Count(e.Ledger.VerifierKey(), "+") > 2 {
			env = e
		}
	}
	if env == nil {
		t.Fatal("no key with a '+' in its base64 in 64 tries")
	}
	if _, err := env.Ledger.Checkpoint(context.Background(), env.Key); err != nil {
		t.Fatal(err)
	}
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	parts := strings.SplitN(env.Ledger.VerifierKey(), "+", 3)
	want := parts[0] + "+" + parts[1]
	if len(doc.Integrity.Checkpoints) == 0 {
		t.Fatal("no checkpoint listed")
	}
	for _, c := range doc.Integrity.Checkpoints {
		if c.KeyID != want {
			t.Errorf("checkpoint #%d: key %q, want the key's name and hash %q (of %s)", c.ID, c.KeyID, want, env.Ledger.VerifierKey())
		}
	}
}

// TestKeyFingerprintCommand: section 6 gives a command that prints the
// signer key fingerprint it shows, run as printed against the matter's
// real verifier key file, in the folder the commands run in; before, it
// told the reader to compare the key file's SHA-256, which hashes the
// file's newline too and never matches.
func TestKeyFingerprintCommand(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, res.Report.JSON)
	var line string
	for _, c := range doc.Integrity.Commands {
		if !strings.HasPrefix(c, "#") && strings.Contains(c, "sha256sum") {
			line = c
		}
	}
	if line == "" {
		t.Fatalf("section 6 gives no command that prints the signer key fingerprint: %q", doc.Integrity.Commands)
	}
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = filepath.Dir(res.Ledger)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if got, _, _ := strings.Cut(string(out), " "); got != doc.Integrity.KeyFingerprint {
		t.Errorf("%s prints %q; section 6's fingerprint is %s", line, out, doc.Integrity.KeyFingerprint)
	}
}
