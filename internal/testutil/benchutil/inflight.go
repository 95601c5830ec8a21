package benchutil

import "sync/atomic"

// InFlight counts the calls in progress and remembers the most there
// were at once: tests of readers that keep several reads in flight (a
// store or source that waits like a remote one) check how many they got.
type InFlight struct{ now, most atomic.Int64 }

// Enter notes a call started; the function it returns notes it ended.
func (f *InFlight) Enter() (leave func()) {
	n := f.now.Add(1)
	for m := f.most.Load(); n > m && !f.most.CompareAndSwap(m, n); m = f.most.Load() {
	}
	return func() { f.now.Add(-1) }
}

// Most is the most calls there were in progress at once.
func (f *InFlight) Most() int64 { return f.most.Load() }

// Reset forgets the most so far: from now on it counts from the calls
// still in progress.
func (f *InFlight) Reset() { f.most.Store(f.now.Load()) }
