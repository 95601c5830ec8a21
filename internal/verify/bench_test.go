package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/verify"
)

// BenchmarkVerify runs a full verification of a 100,000-entry ledger with
// checkpoints; each op is one whole verification. (It was
// internal/ledger's BenchmarkVerify before verification moved here.)
func BenchmarkVerify(b *testing.B) {
	f := verifyFixture(b, false)
	key := f.l.VerifierKey()
	b.ResetTimer()
	cpu0 := benchutil.CPUTime()
	for b.Loop() {
		rep, err := verify.Ledger(f.ctx, f.l, verify.Options{VerifierKey: key})
		if err != nil || !rep.OK || rep.Entries != verifySize {
			b.Fatalf("verify: %v %+v", err, rep.Findings)
		}
	}
	b.ReportMetric(float64(verifySize)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Nanoseconds())/float64(verifySize*b.N), "cpu-ns/entry")
}

// BenchmarkVerifyVsFloor puts a full verification of the 100,000-entry
// ledger beside its floor, in one run: read every row through the same
// snapshot iterator and driver, re-hash each leaf, link the chain and
// build the Merkle root — what no verification can skip. Each op is one
// of each, alternating; it reports both times and verify/floor.
func BenchmarkVerifyVsFloor(b *testing.B) { benchVerifyVsFloor(b, verifyFixture(b, false)) }

// BenchmarkVerifyVsFloorV3 is BenchmarkVerifyVsFloor on message leaves of
// format v3, what exports write now (BenchmarkVerifyVsFloor's are v1,
// the form of the stops that first measured it): the strict check
// decodes their salted detail.
func BenchmarkVerifyVsFloorV3(b *testing.B) { benchVerifyVsFloor(b, verifyFixture(b, true)) }

func benchVerifyVsFloor(b *testing.B, f *fixture) {
	key := f.l.VerifierKey()
	floor := func() hashchain.Hash {
		snap, err := f.l.Snapshot(f.ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer snap.Close()
		var chain hashchain.Hash
		var rb hashchain.RootBuilder
		for row, err := range snap.Entries(f.ctx) {
			if err != nil {
				b.Fatal(err)
			}
			lh := hashchain.LeafHash(row.Leaf)
			chain = hashchain.ChainLink(chain, lh)
			rb.Append(lh)
		}
		return rb.Root()
	}
	b.ResetTimer()
	var verifyWall, floorWall time.Duration
	for b.Loop() {
		t0 := time.Now()
		rep, err := verify.Ledger(f.ctx, f.l, verify.Options{VerifierKey: key})
		if err != nil || !rep.OK || rep.Entries != verifySize {
			b.Fatalf("verify: %v %+v", err, rep.Findings)
		}
		t1 := time.Now()
		if root := floor(); root.String() != rep.Root {
			b.Fatalf("floor root %s, verify's %s", root, rep.Root)
		}
		verifyWall, floorWall = verifyWall+t1.Sub(t0), floorWall+time.Since(t1)
	}
	b.ReportMetric(verifyWall.Seconds()*1e3/float64(b.N), "verify-ms")
	b.ReportMetric(floorWall.Seconds()*1e3/float64(b.N), "floor-ms")
	b.ReportMetric(verifyWall.Seconds()/floorWall.Seconds(), "verify/floor")
}

const verifySize = 100_000

// verifyFixture is a 100,000-entry ledger with a checkpoint every 20,000;
// its messages are v3 leaves with v3, else v1.
func verifyFixture(b *testing.B, v3 bool) *fixture {
	const size, batchSize = verifySize, 1000
	f := newFixture(b)
	batch := make([]leaf.Entry, 0, batchSize)
	for done := 0; done < size; done += batchSize {
		batch = batch[:0]
		for i := range batchSize {
			conv := fmt.Sprintf("conv-%05d", (done+i)/50)
			if v3 {
				e, _ := saltedMessage(conv, 0, hashchain.Hash(sha256.Sum256([]byte("evidence "+conv))))
				batch = append(batch, e)
			} else {
				batch = append(batch, messages(conv, 1)[0])
			}
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
	return f
}

// BenchmarkVerifyReport is verify --report on the 100,000-entry ledger
// with a report entry: each op is the whole verification (verify-ms),
// then the report file matched against what the ledger pass read
// (pass-ms: MatchReportFile, what custody verify does) and against a
// second read of every row (read_again-ms: ReportFile, what it did
// before), alternating, in one run. Before is verify-ms + read_again-ms,
// after verify-ms + pass-ms.
func BenchmarkVerifyReport(b *testing.B) {
	f := verifyFixture(b, false)
	page := []byte("<html>report</html>")
	sum := sha256.Sum256(page)
	rd, err := leaf.EncodeDetail(&leaf.ReportDetail{Files: []leaf.ReportFile{{Name: "report.html", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(page))}},
		Operator: "u", Root: "00", ToolVersion: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindReport, Matter: "m", RunID: "report-1", Detail: rd}); err != nil {
		b.Fatal(err)
	}
	f.checkpoint()
	key := f.l.VerifierKey()
	var verifyWall, passWall, againWall time.Duration
	for b.Loop() {
		t0 := time.Now()
		rep, err := verify.Ledger(f.ctx, f.l, verify.Options{VerifierKey: key})
		if err != nil || !rep.OK {
			b.Fatalf("verify: %v %+v", err, rep.Findings)
		}
		t1 := time.Now()
		m, err := rep.MatchReportFile(f.ctx, f.l, "report.html", bytes.NewReader(page))
		t2 := time.Now()
		again, err2 := verify.ReportFile(f.ctx, f.l, "report.html", bytes.NewReader(page))
		t3 := time.Now()
		if err != nil || err2 != nil || !m.Found || !m.Covered || !again.Found || !again.Covered {
			b.Fatalf("report file: %v %v %+v %+v", err, err2, m, again)
		}
		verifyWall += t1.Sub(t0)
		passWall += t2.Sub(t1)
		againWall += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(verifyWall.Seconds()*1e3/n, "verify-ms")
	b.ReportMetric(passWall.Seconds()*1e3/n, "pass-ms")
	b.ReportMetric(againWall.Seconds()*1e3/n, "read_again-ms")
}
