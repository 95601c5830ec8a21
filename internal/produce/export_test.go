package produce

import (
	"io/fs"
	"os"
)

// SetScanBatchSize sets how many entries a scan batch holds and returns
// the function that puts the default back.
func SetScanBatchSize(n int) func() {
	old := scanBatchSize
	scanBatchSize = n
	return func() { scanBatchSize = old }
}

// SetHeldLimit sets what a conversation may hold of its attachments in
// memory and returns the function that puts the default back.
func SetHeldLimit(n int64) func() {
	old := heldLimit
	heldLimit = n
	return func() { heldLimit = old }
}

// PeakHeld returns the most a conversation held in memory of what
// SetHeldLimit bounds since it was last called.
func PeakHeld() int64 { return peakHeld.Swap(0) }

// SetDevice makes deviceOf give dev for the folder named name (its
// device otherwise) and returns the function that puts it back: a mount
// point without root.
func SetDevice(name string, dev uint64) func() {
	old := deviceOf
	deviceOf = func(fi fs.FileInfo) (uint64, bool) {
		if st, err := os.Stat(name); err == nil && os.SameFile(st, fi) {
			return dev, true
		}
		return old(fi)
	}
	return func() { deviceOf = old }
}
