//go:build unix

package fsinfo

import "syscall"

// noFollowFlag makes an open refuse a symbolic link in the name's last
// element.
const noFollowFlag = syscall.O_NOFOLLOW
