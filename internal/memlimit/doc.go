// Package memlimit keeps a soft limit on the Go runtime's memory that
// gives way to a large live heap.
//
// A fixed soft limit (debug.SetMemoryLimit) bounds the peak of a command
// whose live heap stays well under it, and lets the collector run less
// often below it. But a command whose live heap grows with its input
// (verify's sets of evidence addresses, produce's record of each message)
// passes any fixed figure on a large enough matter, and from there the
// collector runs back to back, up to half the CPU, for the rest of the
// run: a soft limit set to save memory on a small matter doubled the time
// of a large one. Follow sets the limit and, after every collection,
// raises it to what a given GOGC would let the heap grow to, plus the
// runtime's other memory, when that is more: the collector then never
// runs more often than under that GOGC (100 is Go's default).
//
// Follow keeps a floor chosen for a roomy machine to half the memory the
// process may use (its cgroup's limit, else the machine's, as
// github.com/KimMachineGun/automemlimit reads them).
package memlimit
