package diff

import (
	"context"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// benchExport writes a damaged Genesys-layout export of about n messages
// to a temp folder and returns it with the matching captured index.
func benchExport(b *testing.B, n int) (string, *MemIndex, recexport.Manifest) {
	b.Helper()
	// The generator's median conversation has about 12 messages.
	org := sim.NewOrg(sim.OrgConfig{Seed: 1, Conversations: n/12 + 1})
	dir := b.TempDir()
	p := recexport.DefaultProfile(recexport.ShapeGenesys, 1)
	p.CountOnly = true
	m, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p)
	if err != nil {
		b.Fatal(err)
	}
	idx := &MemIndex{}
	for i := range org.Len() {
		c := org.ConversationAt(i)
		hold := c.LegalHold
		for k := range c.Messages {
			idx.Add(CaptureOf(&c.Messages[k], c.ID, &hold, nil, 0))
		}
	}
	return dir, idx, m
}

// heapPeak samples the live heap (as marked by the latest GC, so garbage
// not yet collected does not count) until stopped and returns the peak.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkDiff measures messages compared per second over a folder
// export, and the live heap the diff adds on top of the captured index
// (which a real run keeps in SQLite, not in memory): it should not grow
// with the export (compare CUSTODY_BENCH_MESSAGES=20000 and 1000000).
func BenchmarkDiff(b *testing.B) {
	dir, idx, m := benchExport(b, benchutil.Messages(b, 100_000))
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	for _, out := range []string{"count", OutputJSONL} {
		b.Run(out, func(b *testing.B) {
			emit := func(Finding) error { return nil }
			if out != "count" {
				w, err := NewWriter(out, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				emit = w.Write
			}
			runtime.GC()
			base := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(base)
			stop := heapPeak()
			var s Summary
			cpu0 := benchutil.CPUTime()
			start := time.Now()
			for b.Loop() {
				s, err = Run(context.Background(), src, idx, Options{}, emit)
				if err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			cpu := benchutil.CPUTime() - cpu0
			peak := stop()
			if s.Messages != m.MessagesReadable {
				b.Fatalf("read %d messages, export has %d readable", s.Messages, m.MessagesReadable)
			}
			b.ReportMetric(float64(s.Messages)*float64(b.N)/elapsed.Seconds(), "msgs/s")
			// CPU time is the steadier figure on a shared machine: messages
			// per CPU-second, times the cores, bounds what the wall clock
			// shows on an idle one.
			if cpu > 0 {
				b.ReportMetric(float64(s.Messages)*float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
			}
			b.ReportMetric(float64(s.Messages), "msgs")
			b.ReportMetric(float64(s.Counts.Total()), "findings")
			b.ReportMetric(float64(peak-min(peak, base[0].Value.Uint64()))/(1<<20), "heap-MB")
		})
	}
}
