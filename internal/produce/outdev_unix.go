//go:build unix

package produce

import (
	"io/fs"
	"syscall"
)

// fileDevice is the st_dev of the file fi describes.
func fileDevice(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true // int32 on darwin
}
