package main

import (
	"os"
	"runtime/debug"

	"github.com/custodyhq/custody/internal/memlimit"
)

// collectLess has the garbage collector run less often (GOGC=percent)
// for a command that allocates much while its live heap stays small,
// under a soft memory limit (memlimit.Follow) of floor bytes that gives
// way to a live heap that outgrows it, never collecting more often than
// Go's default (GOGC=100) would. GOGC or GOMEMLIMIT set by the user
// win: then it does nothing. stop puts back what was.
func collectLess(percent int, floor int64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(percent)
	stopLimit := memlimit.Follow(floor, 100)
	return func() {
		stopLimit()
		debug.SetGCPercent(prev)
	}
}

// Export (and refetch, and the export bench, which measures it) reads
// and writes every message several times over while little stays live:
// on the bench's org (539 conversations, 3,000/min) 21 collections of a
// 15 – 19 MB live heap, each with a mark worker on one of two cores.
// GOGC=300 made the export 6 % faster on tmpfs (eight alternated
// rounds, medians 1.127 → 1.056 s; docs/benchmarks.md). The floor is
// storingBytes, the most response bytes export holds waiting on storage.
const (
	exportGCPercent   = 300
	exportMemoryLimit = 256 << 20
)
