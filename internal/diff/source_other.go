//go:build !linux

package diff

import "context"

// walkFast is the Linux walk (source_linux.go); elsewhere walkRoot serves.
func (d *DirSource) walkFast(context.Context, func(Entry) error) (bool, error) {
	return false, nil
}
