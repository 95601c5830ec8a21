package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestLimit(t *testing.T) {
	for _, c := range []struct {
		floor int64
		gogc  int
		u     Usage
		want  int64
	}{
		{100, 100, Usage{Live: 10, NonHeap: 5}, 100},
		{100, 100, Usage{Live: 60, NonHeap: 5}, 125},
		{100, 50, Usage{Live: 60, NonHeap: 5}, 100},
		{100, 50, Usage{Live: 80, NonHeap: 5}, 125},
		{100, -1, Usage{Live: 120, NonHeap: 5}, 125},
		{0, 100, Usage{}, 0},
		{1, 100, Usage{Live: math.MaxUint64 / 2}, math.MaxInt64},
	} {
		if got := Limit(c.floor, c.gogc, c.u); got != c.want {
			t.Errorf("Limit(%d, %d, %+v) = %d, want %d", c.floor, c.gogc, c.u, got, c.want)
		}
	}
}

// currentLimit reads the soft limit without changing it.
func currentLimit() int64 { return debug.SetMemoryLimit(-1) }

// churn allocates n bytes of garbage in 64 KiB pieces while live is held,
// and returns how many collections ran meanwhile.
func churn(live [][]byte, n int) uint32 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var sink []byte
	for done := 0; done < n; done += 64 << 10 {
		sink = make([]byte, 64<<10)
		sink[0] = 1
	}
	runtime.KeepAlive(sink)
	runtime.KeepAlive(live)
	runtime.ReadMemStats(&after)
	return after.NumGC - before.NumGC
}

// holdLive allocates n bytes that stay reachable through the result.
func holdLive(n int) [][]byte {
	var live [][]byte
	for done := 0; done < n; done += 1 << 20 {
		b := make([]byte, 1<<20)
		b[0] = 1
		live = append(live, b)
	}
	return live
}

// A live heap above the floor: with a fixed soft limit the collector runs
// back to back; following, it runs about as often as with no limit, and
// the limit it leaves is at least twice the live heap. Stopping puts the
// earlier limit back.
func TestFollowGivesWayToLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	before := currentLimit()
	const floor, liveBytes, garbage = 16 << 20, 64 << 20, 512 << 20
	live := holdLive(liveBytes)
	runtime.GC()

	prev := debug.SetMemoryLimit(floor)
	fixed := churn(live, garbage)
	debug.SetMemoryLimit(prev)

	stop := Follow(floor, 100)
	runtime.GC() // the first cleanup runs after a collection
	followed := churn(live, garbage)
	limit := currentLimit()
	stop()

	t.Logf("collections while allocating %d MiB with %d MiB live: fixed %d MiB limit %d, following %d (limit then %d MiB)",
		garbage>>20, liveBytes>>20, floor>>20, fixed, followed, limit>>20)
	if limit < 2*liveBytes {
		t.Errorf("limit while following %d MiB, want at least twice the live %d MiB", limit>>20, liveBytes>>20)
	}
	// 512 MiB of garbage over a 64 MiB live heap is about 8 collections at
	// GOGC=100; a limit below the live heap collects at nearly every
	// allocation once over it.
	if followed > 32 {
		t.Errorf("%d collections while following, want at most 32 (the fixed limit: %d)", followed, fixed)
	}
	if fixed < 4*followed {
		t.Errorf("fixed limit: %d collections, following %d: the test no longer shows the fixed limit's cost", fixed, followed)
	}
	if got := currentLimit(); got != before {
		t.Errorf("after stop the limit is %d, want the earlier %d", got, before)
	}
	runtime.KeepAlive(live)
}

// Below the floor nothing changes: the limit stays the floor.
func TestFollowKeepsFloor(t *testing.T) {
	// A floor above any machine's memory: no room is known here, so
	// Follow does not cap it (TestWithin checks the cap).
	defer func(r func() uint64) { room = r }(room)
	room = func() uint64 { return 0 }
	before := currentLimit()
	const floor = 1 << 40
	stop := Follow(floor, 100)
	runtime.GC()
	runtime.GC()
	if got := currentLimit(); got != floor {
		t.Errorf("limit %d, want the floor %d", got, int64(floor))
	}
	stop()
	stop() // a second stop is harmless
	if got := currentLimit(); got != before {
		t.Errorf("after stop the limit is %d, want %d", got, before)
	}
}

// The runtime has every figure read asks for (a misspelt name would read
// as 0 and leave the limit at its floor), and they say what they should.
func TestReadFigures(t *testing.T) {
	live := holdLive(32 << 20)
	runtime.GC()
	f := &follower{samples: make([]metrics.Sample, len(figures))}
	for i, name := range figures {
		f.samples[i].Name = name
	}
	u := f.read()
	for _, s := range f.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			t.Errorf("figure %s: kind %v, want a uint64", s.Name, s.Value.Kind())
		}
	}
	if u.Live < 32<<20 {
		t.Errorf("live heap %d MiB with 32 MiB held", u.Live>>20)
	}
	if u.NonHeap == 0 || u.NonHeap > u.Live {
		t.Errorf("memory outside the heap %d bytes, want some (stacks, metadata), less than the %d MiB live", u.NonHeap, u.Live>>20)
	}
	runtime.KeepAlive(live)
}

func TestWithin(t *testing.T) {
	defer func(r func() uint64) { room = r }(room)
	const MiB = 1 << 20
	for _, c := range []struct {
		room uint64
		want int64
	}{
		{0, 768 * MiB},          // unknown: the floor as chosen
		{24 << 30, 768 * MiB},   // a roomy machine
		{1536 * MiB, 768 * MiB}, // exactly half
		{1 << 30, 512 * MiB},    // a 1 GiB container: half of it
		{256 * MiB, 128 * MiB},
	} {
		room = func() uint64 { return c.room }
		if got := within(768 * MiB); got != c.want {
			t.Errorf("room %d MiB: within(768 MiB) = %d MiB, want %d MiB", c.room/MiB, got/MiB, c.want/MiB)
		}
	}
	// Follow starts from the capped floor (this test's live heap is a
	// few MB, far below it), and stop puts back the limit before it.
	room = func() uint64 { return 256 * MiB }
	before := currentLimit()
	stop := Follow(768*MiB, 100)
	if got := currentLimit(); got != 128*MiB {
		t.Errorf("Follow(768 MiB) with 256 MiB of room: limit %d MiB, want 128 MiB", got/MiB)
	}
	stop()
	if got := currentLimit(); got != before {
		t.Errorf("after stop: limit %d, want %d as before", got, before)
	}
}

// TestRoom reads this machine's figure through the library: nonzero on
// Linux, where /proc and sysinfo(2) always answer.
func TestRoom(t *testing.T) {
	r := room()
	t.Logf("room: %d MiB", r>>20)
	if runtime.GOOS == "linux" && r == 0 {
		t.Error("room() = 0 on Linux: neither the cgroup limit nor the machine's memory was read")
	}
}
