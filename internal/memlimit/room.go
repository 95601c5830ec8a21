package memlimit

import (
	aml "github.com/KimMachineGun/automemlimit/memlimit"
)

// room is the memory this process may use: its cgroup's limit when it has
// one (v1 or v2, read by automemlimit), else the machine's memory; 0 when
// neither can be read. A variable for tests.
var room = func() uint64 {
	n, err := aml.ApplyFallback(aml.FromCgroup, aml.FromSystem)()
	if err != nil {
		return 0
	}
	return n
}

// roomShare is the most of the memory this process may use that a floor
// may claim.
const roomShare = 0.5

// within returns floor, or roomShare of the memory this process may use
// when that is less: a floor chosen to spare a roomy machine's collector
// (verify's 768 MiB) must not let the heap outgrow a small container
// before the collector runs. Where nothing says how much memory there
// is, it is floor.
func within(floor int64) int64 {
	r := room()
	if r == 0 {
		return floor
	}
	if capped := float64(r) * roomShare; capped < float64(floor) {
		return int64(capped)
	}
	return floor
}
