//go:build unix && !linux

package folder

import "testing"

// withoutOpenat2: without openat2, openBeneath always walks.
func withoutOpenat2(*testing.T) {}
