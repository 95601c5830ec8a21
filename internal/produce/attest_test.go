package produce_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/verify"
	"github.com/custodyhq/custody/internal/witness"
)

// attest timestamps cp with a test TSA and has a test witness cosign it,
// as custody checkpoint --tsa --witness does: the token and the
// cosignature line stored.
func attest(t *testing.T, l *ledger.Ledger, cp ledger.StoredCheckpoint) (token []byte, cosig string) {
	t.Helper()
	ctx := context.Background()
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if token, err = (&tsa.Client{}).Timestamp(ctx, s.URL, tsa.Imprint(cp.Note)); err != nil {
		t.Fatal(err)
	}
	if err := l.AddTimestamp(ctx, cp.ID, s.URL, token, ""); err != nil {
		t.Fatal(err)
	}
	skey, _, err := witness.GenerateKey("w.example")
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(skey, []string{l.VerifierKey()}, filepath.Join(t.TempDir(), "wstate"))
	if err != nil {
		t.Fatal(err)
	}
	proof, err := l.ConsistencyProof(ctx, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := w.Add(witness.Request{OldSize: 0, Proof: proof, Checkpoint: cp.Note})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AddCosignature(ctx, cp.ID, "w.example", string(sigs)); err != nil {
		t.Fatal(err)
	}
	return token, string(sigs)
}

// TestProduceProofsAttested: the message proofs of a production carry the
// timestamp token and the witness cosignature stored for the checkpoint
// they are proved against, as custody prove's proofs do; the checkpoint
// file is that same cosigned note, the production verifies, and producing
// the same selection again gives the same bytes.
func TestProduceProofsAttested(t *testing.T) {
	m := capture(t, 6)
	ctx := context.Background()
	cp, ok, err := m.l.LatestCheckpoint(ctx)
	if err != nil || !ok {
		t.Fatalf("latest checkpoint: %v %v", ok, err)
	}
	token, cosig := attest(t, m.l, cp)

	out := filepath.Join(t.TempDir(), "prod")
	res, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth})
	if err != nil {
		t.Fatal(err)
	}
	if res.SignedForProof || res.ProofTreeSize != cp.Size {
		t.Fatalf("proved against a tree of %d (signed one: %v), want the attested checkpoint of %d", res.ProofTreeSize, res.SignedForProof, cp.Size)
	}
	cpFile, err := os.ReadFile(filepath.Join(out, production.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cpFile, cp.Note) || !strings.HasSuffix(string(cpFile), cosig) {
		t.Errorf("%s is not the checkpoint with its cosignature:\n%s", production.CheckpointFile, cpFile)
	}
	entries, err := os.ReadDir(filepath.Join(out, "proofs"))
	if err != nil {
		t.Fatal(err)
	}
	proofs := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".proof.json") {
			continue
		}
		proofs++
		b, err := os.ReadFile(filepath.Join(out, "proofs", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p, err := leaf.ParseProof(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if len(p.Timestamps) != 1 || !bytes.Equal(p.Timestamps[0].Token, token) {
			t.Fatalf("%s: %d timestamps, want the stored token", e.Name(), len(p.Timestamps))
		}
		if !bytes.Equal(p.Checkpoint, cpFile) {
			t.Fatalf("%s: checkpoint is not %s's note:\n%s", e.Name(), production.CheckpointFile, p.Checkpoint)
		}
		if _, err := tsa.Verify(p.Timestamps[0].Token, tsa.Imprint(leaf.LedgerNote(p.Checkpoint)), nil); err != nil {
			t.Fatalf("%s: the token does not prove the checkpoint's time: %v", e.Name(), err)
		}
		if _, err := p.Verify(m.l.VerifierKey()); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
	}
	if proofs == 0 {
		t.Fatal("no message proofs written")
	}

	rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: m.l.VerifierKey(), Ledger: m.l})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Proofs < rep.Messages || rep.Messages == 0 {
		t.Fatalf("the production does not verify: %+v", rep)
	}

	// Reproducible: the same selection against the same ledger.
	out2 := filepath.Join(t.TempDir(), "again")
	res2, err := m.produce(t, out2, produce.Options{Format: produce.FormatBoth})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ManifestSHA256 != res.ManifestSHA256 {
		t.Errorf("manifest %s, first %s", res2.ManifestSHA256, res.ManifestSHA256)
	}
	man, _ := os.ReadFile(filepath.Join(out, production.ManifestFile))
	sameFiles(t, man, out, out2)
}
