//go:build !unix

package bench

import "os"

// maxRSS is not measured where there is no getrusage.
func maxRSS(*os.ProcessState) int64 { return 0 }
