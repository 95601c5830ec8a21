package produce_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
)

// TestEraseRemovesKilledProduceLeftover: a produce killed before it
// recorded its production leaves a hidden folder beside --out, which may
// hold the produced messages' text; no entry names it. An erase finds it
// through the ledger's staging line, whatever --out was, removes it and
// names it, and drops the line. Both names a killed run leaves are
// covered: .building (killed while writing) and .entry-SEQ (killed after
// the claim's rename, before its transaction committed: the reviewer's
// case). Before, erase neither found nor named it, and the text stayed.
func TestEraseRemovesKilledProduceLeftover(t *testing.T) {
	dir := t.TempDir()
	l, _, key := fixture(t, dir, 3, 4)
	l.Close()
	outs := []string{filepath.Join(t.TempDir(), "prodA"), filepath.Join(t.TempDir(), "prodB")}
	for _, out := range outs {
		runKilled(t, dir, out, key, "evidence")
	}
	ctx := context.Background()
	l, st := reopen(t, dir)
	var left []string
	for i, out := range outs {
		h := hidden(t, out)
		if len(h) != 1 || !strings.HasSuffix(h[0], ".building") {
			t.Fatalf("the killed production left %v beside %s", h, out)
		}
		p := filepath.Join(filepath.Dir(out), h[0])
		if i == 1 {
			// As if killed between the claim's rename and its commit: the
			// entry it claimed is another (the erasure's, below).
			head, err := l.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			claimed := strings.TrimSuffix(p, ".building") + ".entry-" + strconv.FormatUint(head.Size, 10)
			if err := os.Rename(p, claimed); err != nil {
				t.Fatal(err)
			}
			p = claimed
		}
		left = append(left, p)
	}
	var msg string
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		msg = e.MessageID
		break
	}
	res, err := erase.Erase(ctx, l, st, erase.Request{Messages: []string{msg}, Reason: "DSR", Operator: "dpo", OverrideHold: "fixture: every conversation is held", SignerKey: key})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	if got := slices.Sorted(slices.Values(res.ProduceLeftovers)); !slices.Equal(got, left) || len(res.ProduceLeftoversFailed) > 0 {
		t.Errorf("removed %v (failed %v), want %v", got, res.ProduceLeftoversFailed, left)
	}
	for _, p := range left {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	if v, ok, err := l.State(ctx, production.StagingKey); err != nil || ok {
		t.Errorf("staging lines left: %q %v", v, err)
	}
}

// TestProduceClearsStagingLine: a production recorded, and one that
// fails before recording (its folder removed), leave no staging line
// behind: only a killed run's folder is listed for erase to find.
func TestProduceClearsStagingLine(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 3)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "prod")
	if _, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, Format: produce.FormatDAT, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := l.State(ctx, production.StagingKey); err != nil || ok {
		t.Errorf("a recorded production left the staging line %q (%v)", v, err)
	}
	out = filepath.Join(t.TempDir(), "prod2")
	if _, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: failingGets{st}}, produce.Options{Out: out, Format: produce.FormatDAT, SignerKey: key, VerifierKey: l.VerifierKey()}); err == nil {
		t.Fatal("a production whose evidence cannot be read succeeded")
	}
	if v, ok, err := l.State(ctx, production.StagingKey); err != nil || ok {
		t.Errorf("a failed production left the staging line %q (%v)", v, err)
	}
	if h := hidden(t, out); len(h) > 0 {
		t.Errorf("a failed production left %v", h)
	}
}

// failingGets is a store whose reads fail.
type failingGets struct{ evidence.Store }

func (failingGets) Get(context.Context, hashchain.Hash) ([]byte, error) {
	return nil, errors.New("EIO: simulated")
}
