//go:build unix

package fsinfo

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// TypeBits maps a stat's st_mode to the fs.ModeType bits, as os.Lstat
// does: for callers that stat through a directory descriptor (fstatat)
// and must judge the result as os.Lstat's would be judged.
func TypeBits(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
