//go:build !unix

package diff

import "time"

// cpuTime is unknown here: BenchmarkDiff then reports wall-clock rates only.
func cpuTime() time.Duration { return 0 }
