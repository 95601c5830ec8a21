//go:build !unix

package folder

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/custodyhq/custody/internal/evidence"
)

// openFlags: see open_unix.go. Without O_NOFOLLOW, refuseLink checks the
// name after it is opened.
const openFlags = os.O_RDONLY

// refuseLink refuses name, just opened (following links), if it is a
// symbolic link: the best this platform offers in place of O_NOFOLLOW.
func refuseLink(name string) error {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: not a regular file (a symbolic link)", evidence.ErrCorrupt)
	}
	return nil
}
