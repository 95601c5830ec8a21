//go:build !unix

package fsinfo

// noFollowFlag: this system has no O_NOFOLLOW; openRegularFile looks at
// the name once it is open instead (a link swapped in between the two is
// not seen: the best it offers).
const noFollowFlag = 0
