//go:build unix && !linux

package folder

// openat2Beneath: openat2 is Linux's; walkBeneath decides.
func openat2Beneath(int, string, int) (int, error) { return -1, errUndecided }
