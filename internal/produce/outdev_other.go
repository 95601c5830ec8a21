//go:build !unix

package produce

import "io/fs"

// fileDevice: the system gives no device number here; a mount point is
// not told from a folder (docs/produce.md).
func fileDevice(fs.FileInfo) (uint64, bool) { return 0, false }
