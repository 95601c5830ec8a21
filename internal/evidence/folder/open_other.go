//go:build !unix

package folder

import "os"

// openFlags: see open_unix.go.
const openFlags = os.O_RDONLY
