package verify_test

import (
	"fmt"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/verify"
)

// BenchmarkVerify runs a full verification of a 100,000-entry ledger with
// checkpoints; each op is one whole verification. (It was
// internal/ledger's BenchmarkVerify before verification moved here.)
func BenchmarkVerify(b *testing.B) {
	const size, batchSize = 100_000, 1000
	f := newFixture(b)
	batch := make([]leaf.Entry, 0, batchSize)
	for done := 0; done < size; done += batchSize {
		batch = batch[:0]
		for i := range batchSize {
			batch = append(batch, messages(fmt.Sprintf("conv-%05d", (done+i)/50), 1)[0])
			batch[i].MessageID = fmt.Sprintf("%032x", done+i)
		}
		if _, err := f.l.Append(f.ctx, batch...); err != nil {
			b.Fatal(err)
		}
		if done%20_000 == 0 {
			f.checkpoint()
		}
	}
	f.checkpoint()
	key := f.l.VerifierKey()
	b.ResetTimer()
	cpu0 := benchutil.CPUTime()
	for b.Loop() {
		rep, err := verify.Ledger(f.ctx, f.l, verify.Options{VerifierKey: key})
		if err != nil || !rep.OK || rep.Entries != size {
			b.Fatalf("verify: %v %+v", err, rep.Findings)
		}
	}
	b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Nanoseconds())/float64(size*b.N), "cpu-ns/entry")
}
