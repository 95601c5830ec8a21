//go:build unix

package folder

import "syscall"

// openFlags open an object for reading without blocking: a FIFO planted
// where an object should be would otherwise block the open until a
// writer came (it is then refused as not a regular file). On a regular
// file O_NONBLOCK changes nothing. O_NOFOLLOW refuses a symbolic link in
// the object's place, and openBeneath one on the way to it (refused words
// the error): an object is a regular file in the store, as Put requires
// (checkExisting), not a link to bytes kept elsewhere.
const openFlags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW
