// Package benchutil holds what several packages' tests and benchmarks
// need alike: the process's CPU time (benchmarks report CPU per item beside
// wall-clock rates because the machine is shared), the benchmark size knob
// CUSTODY_BENCH_MESSAGES, the crash campaigns' seed CUSTODY_CRASH_SEED,
// a folder of files written from a map, and a count of calls in flight.
package benchutil
