package produce_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// BenchmarkProduceRSMF produces 100,000 messages (10 a conversation;
// CUSTODY_BENCH_MESSAGES for another size) as RSMF, and, as a baseline
// in the same run, writes the same files with the same bytes (the
// filesystem floor no production can beat). It reports messages/s of
// each and their ratio.
func BenchmarkProduceRSMF(b *testing.B) {
	n := benchutil.Messages(b, 100_000)
	dir := b.TempDir()
	l, st, key := fixture(b, dir, n/10, 10)
	defer l.Close()
	defer st.Close()
	ctx := context.Background()
	var prodT, baseT []time.Duration
	var res *produce.Result
	i := 0
	for b.Loop() {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		t0 := time.Now()
		var err error
		res, err = produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, Format: produce.FormatRSMF,
			SignerKey: key, VerifierKey: l.VerifierKey()})
		if err != nil {
			b.Fatal(err)
		}
		prodT = append(prodT, time.Since(t0))
		b.StopTimer()
		base := filepath.Join(dir, fmt.Sprintf("base%d", i))
		baseT = append(baseT, copyFiles(b, out, base))
		os.RemoveAll(out)
		os.RemoveAll(base)
		i++
		b.StartTimer()
	}
	if res.Messages != n/10*10 {
		b.Fatalf("produced %d messages", res.Messages)
	}
	p, q := median(prodT), median(baseT)
	b.ReportMetric(float64(res.Messages)/p.Seconds(), "msgs/s")
	b.ReportMetric(float64(res.Messages)/q.Seconds(), "baseline-msgs/s")
	b.ReportMetric(p.Seconds()/q.Seconds(), "x-baseline")
}

// copyFiles writes every file of a production's manifest into dst, the
// bytes read first (not timed): the cost of the files alone.
func copyFiles(b *testing.B, src, dst string) time.Duration {
	data, err := os.ReadFile(filepath.Join(src, production.ManifestFile))
	if err != nil {
		b.Fatal(err)
	}
	m, err := production.ParseManifest(data)
	if err != nil {
		b.Fatal(err)
	}
	contents := make([][]byte, len(m.Files))
	for i, f := range m.Files {
		if contents[i], err = os.ReadFile(filepath.Join(src, filepath.FromSlash(f.Path))); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	dirs := map[string]bool{}
	for i, f := range m.Files {
		name := filepath.Join(dst, filepath.FromSlash(f.Path))
		if d := filepath.Dir(name); !dirs[d] {
			os.MkdirAll(d, 0o755)
			dirs[d] = true
		}
		if err := os.WriteFile(name, contents[i], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
