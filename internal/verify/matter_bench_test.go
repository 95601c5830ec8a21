package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/verify"
)

// BenchmarkMatterEvidence verifies an existing matter folder (as 'custody
// demo' leaves it) with its evidence, for profiling 'verify --evidence'
// without a process around it:
//
//	CUSTODY_VERIFY_MATTER=/tmp/vf/demo go test ./internal/verify -run '^$' -bench MatterEvidence -benchtime 3x -cpuprofile cpu.out
//
// Without the variable it is skipped: it needs a matter built beforehand.
func BenchmarkMatterEvidence(b *testing.B) {
	dir := os.Getenv("CUSTODY_VERIFY_MATTER")
	if dir == "" {
		b.Skip("CUSTODY_VERIFY_MATTER names no matter folder")
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(dir, "custody.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	pub, err := os.ReadFile(filepath.Join(dir, "custody.pub"))
	if err != nil {
		b.Fatal(err)
	}
	store, err := folder.Open(filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name     string
		noDerive bool
	}{{"derive", false}, {"no-derive", true}} {
		b.Run(mode.name, func(b *testing.B) {
			cpu0 := benchutil.CPUTime()
			for b.Loop() {
				rep, err := verify.Ledger(ctx, l, verify.Options{VerifierKey: strings.TrimSpace(string(pub)), Evidence: evidence.ReadOnly(store), NoDerive: mode.noDerive})
				if err != nil || !rep.OK {
					b.Fatalf("verify: %v %+v", err, rep.Findings)
				}
			}
			// CPU as well as wall: on a shared machine the wall time says
			// as much about the neighbours.
			b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
