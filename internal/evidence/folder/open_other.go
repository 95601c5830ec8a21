//go:build !unix

package folder

import "os"

// openFlags: see open_unix.go. Without O_NOFOLLOW, refuseLink checks the
// name after it is opened.
const openFlags = os.O_RDONLY

// refuseLink refuses name, just opened (following links), if it is a
// symbolic link: the best this platform offers in place of O_NOFOLLOW.
func refuseLink(name string) error { return linkRefused(name, nil) }
