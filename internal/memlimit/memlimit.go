package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// The runtime's figures Follow reads after each collection, in this
// order: the heap that survived it; all the memory the runtime holds and
// the part of it given back to the system (the limit counts the rest);
// and the heap's three shares of that rest (objects, free, unused), to
// tell what is not heap (stacks, the runtime's own structures).
var figures = [...]string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/unused:bytes",
}

// follower is one Follow: its floor and headroom, and whether it was
// stopped.
type follower struct {
	floor   int64
	gogc    int
	stopped atomic.Bool
	mu      sync.Mutex // one adjustment at a time (cleanups may overlap a stop)
	samples []metrics.Sample
}

// Follow sets the soft memory limit to floor bytes (or half the memory
// the process may use, when that is less: within), then after every
// garbage collection to the larger of that floor and what GOGC=gogc would
// let the heap grow to (the live heap and gogc percent of it) plus the
// runtime's memory outside the heap: the limit never has the collector
// run more often than that GOGC would. stop ends that and puts back the
// limit that was in force before. Follow is for one command at a time:
// the limit is the process's.
func Follow(floor int64, gogc int) (stop func()) {
	floor = within(floor)
	f := &follower{floor: floor, gogc: gogc, samples: make([]metrics.Sample, len(figures))}
	for i, name := range figures {
		f.samples[i].Name = name
	}
	prev := debug.SetMemoryLimit(floor)
	f.adjust()
	f.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.stopped.Store(true)
			f.mu.Lock()
			defer f.mu.Unlock()
			debug.SetMemoryLimit(prev)
		})
	}
}

// sentinel is an object made unreachable on purpose: its cleanup runs
// after the collection that finds it so, once per cycle. It holds a
// pointer and is larger than 16 bytes so that it is not batched with
// other small objects (the tiny allocator), whose cleanups may never run.
type sentinel struct {
	_ *int
	_ [16]byte
}

// arm asks to be called after the next collection.
func (f *follower) arm() {
	runtime.AddCleanup(new(sentinel), func(f *follower) {
		if f.stopped.Load() {
			return
		}
		f.adjust()
		f.arm()
	}, f)
}

// adjust sets the limit the last collection calls for.
func (f *follower) adjust() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped.Load() {
		return
	}
	debug.SetMemoryLimit(Limit(f.floor, f.gogc, f.read()))
}

// Usage is what Limit needs of the runtime's figures.
type Usage struct {
	Live    uint64 // the heap the last collection kept
	NonHeap uint64 // memory the limit counts that is not heap: stacks, the runtime's metadata
}

// read returns the runtime's figures now.
func (f *follower) read() Usage {
	metrics.Read(f.samples)
	var v [len(figures)]uint64 // 0 for a figure this runtime does not have
	for i, s := range f.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	live, all, released := v[0], v[1], v[2]
	heap := v[3] + v[4] + v[5]
	counted := all - min(all, released)
	return Usage{Live: live, NonHeap: counted - min(counted, heap)}
}

// Limit is the soft limit for u: the live heap grown by gogc percent, and
// the memory outside the heap, or floor when that is more.
func Limit(floor int64, gogc int, u Usage) int64 {
	grown := float64(u.Live)*(1+float64(max(gogc, 0))/100) + float64(u.NonHeap)
	if grown >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(floor, int64(grown))
}
