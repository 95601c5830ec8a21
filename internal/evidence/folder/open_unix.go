//go:build unix

package folder

import "syscall"

// openFlags open an object for reading without blocking: a FIFO planted
// where an object should be would otherwise block the open until a
// writer came (it is then refused as not a regular file). On a regular
// file O_NONBLOCK changes nothing.
const openFlags = syscall.O_RDONLY | syscall.O_NONBLOCK
