package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
)

// TestProduceFixture produces the matter TestWriteFixture wrote, when
// CUSTODY_PRODUCE_FIXTURE names it and CUSTODY_PRODUCE_OUT a new folder:
// for profiling (go test -cpuprofile), not a test.
func TestProduceFixture(t *testing.T) {
	dir, out := os.Getenv("CUSTODY_PRODUCE_FIXTURE"), os.Getenv("CUSTODY_PRODUCE_OUT")
	if dir == "" || out == "" {
		t.Skip("set CUSTODY_PRODUCE_FIXTURE and CUSTODY_PRODUCE_OUT to profile a production (not a test)")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "custody.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := os.ReadFile(filepath.Join(dir, "custody.key"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: string(key[:len(key)-1]), VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
}
