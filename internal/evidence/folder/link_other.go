//go:build !linux

package folder

import "os"

// linkNew: see link_linux.go; here always a link, whose temporary name
// PutBatch removes afterwards.
func (f *folder) linkNew(tmp, dst string) (moved bool, err error) {
	return false, os.Link(tmp, dst)
}
