package report_test

import (
	"context"
	"fmt"
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
