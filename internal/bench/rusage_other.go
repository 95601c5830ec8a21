//go:build !unix

package bench

import (
	"os"
	"time"
)

// maxRSS is not measured where there is no getrusage.
func maxRSS(*os.ProcessState) int64 { return 0 }

// selfCPU is not measured where there is no getrusage.
func selfCPU() time.Duration { return 0 }
