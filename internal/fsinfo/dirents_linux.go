package fsinfo

import (
	"encoding/binary"
	"io/fs"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Where linux_dirent64's fields are.
const (
	direntReclen = int(unsafe.Offsetof(unix.Dirent{}.Reclen))
	direntType   = int(unsafe.Offsetof(unix.Dirent{}.Type))
	direntName   = int(unsafe.Offsetof(unix.Dirent{}.Name))
)

// ReadDirents lists the directory open as fd (at path, which its errors
// name) with getdents64, calling fn with each entry but "." and "..": its
// name, valid only during the call, and its type bits from d_type; known
// is false when the file system gave none (DT_UNKNOWN), for the caller to
// stat as os.ReadDir does. It makes no allocation an entry: a store or an
// export folder is listed name by name, without os.ReadDir's DirEntry and
// string for each. An error from fn stops it and is returned as it is;
// its own are *fs.PathError (a record that does not fit the buffer the
// kernel filled is unix.EINVAL).
func ReadDirents(fd int, path string, fn func(name []byte, typ fs.FileMode, known bool) error) error {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	return readDirents(fd, path, *bp, fn)
}

// direntBufs are ReadDirents' buffers, one a listing in progress: a
// store lists its 256 shards in turn (a new buffer each was 8 MB of fresh
// memory a listing of the store), an export walk on a share several
// folders at once.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readDirents is ReadDirents through buf.
func readDirents(fd int, path string, buf []byte, fn func(name []byte, typ fs.FileMode, known bool) error) error {
	for {
		n, err := IgnoringEINTR2(func() (int, error) { return unix.Getdents(fd, buf) })
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) > direntName; {
			reclen := int(binary.NativeEndian.Uint16(b[direntReclen:]))
			if reclen <= direntName || reclen > len(b) {
				return &fs.PathError{Op: "readdirent", Path: path, Err: unix.EINVAL}
			}
			rec := b[:reclen]
			b = b[reclen:]
			name := rec[direntName:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if string(name) == "." || string(name) == ".." {
				continue
			}
			typ, known := direntTypeBits(rec[direntType])
			if err := fn(name, typ, known); err != nil {
				return err
			}
		}
	}
}

// direntTypeBits maps a d_type to the type bits fs.DirEntry.Type gives;
// false for DT_UNKNOWN.
func direntTypeBits(t byte) (fs.FileMode, bool) {
	switch t {
	case unix.DT_REG:
		return 0, true
	case unix.DT_DIR:
		return fs.ModeDir, true
	case unix.DT_LNK:
		return fs.ModeSymlink, true
	case unix.DT_FIFO:
		return fs.ModeNamedPipe, true
	case unix.DT_SOCK:
		return fs.ModeSocket, true
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case unix.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}
