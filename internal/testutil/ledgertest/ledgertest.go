// Package ledgertest makes the ledger and evidence folder that tests of
// the packages built on them (export, reconcile) start from.
package ledgertest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/ledger"
)

// Env is a new ledger (custody.db) and evidence folder (evidence) in a
// temporary directory, closed when the test ends.
type Env struct {
	Ledger *ledger.Ledger
	Store  evidence.Store
	Key    string // the ledger's signer key
	Dir    string
}

// New creates an Env for matter.
func New(t testing.TB, matter string) *Env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, key, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), matter, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Env{Ledger: l, Store: st, Key: key, Dir: dir}
}
