package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/verify"
)

// TestProduceCancelledAfterRecording: Ctrl-C once the production entry
// is appended — while the checkpoint over it waits on a timestamp
// authority or a witness, the slow part — must not leave the ledger
// naming a production that was removed: the production is finished and
// put in place, and verifies against its entry. (It was removed, and the
// command said only "cancelled"; run again, it recorded a second.)
func TestProduceCancelledAfterRecording(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 3, 4)
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The fixture's checkpoint covers every message: the only checkpoint
	// signed is the one over the production entry, and Ctrl-C comes
	// while its authorities are asked.
	l, err := ledger.Open(ctx, filepath.Join(dir, "custody.db"), ledger.Options{
		AfterCheckpoint: func(context.Context, ledger.StoredCheckpoint) { cancel() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := filepath.Join(t.TempDir(), "prod")
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: key, VerifierKey: l.VerifierKey()})

	productions := 0
	for _, err := range l.Entries(context.Background(), ledger.Filter{Kind: leaf.KindProduction}) {
		if err != nil {
			t.Fatal(err)
		}
		productions++
	}
	if productions != 1 {
		t.Fatalf("%d production entries, want 1 (produce: %v)", productions, err)
	}
	if err != nil {
		t.Fatalf("produce cancelled after its entry was appended: %v (the ledger records the production)", err)
	}
	if _, err := os.Stat(filepath.Join(out, "production.proof.json")); err != nil {
		t.Fatalf("the recorded production is not in place: %v", err)
	}
	rep, err := verify.Production(context.Background(), out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
	if err != nil || !rep.OK {
		t.Fatalf("the production does not verify: %+v %v", rep, err)
	}
	if rep.Messages != res.Messages {
		t.Errorf("verified %d messages, produced %d", rep.Messages, res.Messages)
	}
}
