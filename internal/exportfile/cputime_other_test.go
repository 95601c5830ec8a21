//go:build !unix

package exportfile

import "time"

// cpuTime is unknown here: BenchmarkDiff then reports wall-clock rates only.
func cpuTime() time.Duration { return 0 }
