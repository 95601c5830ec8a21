//go:build !linux

package exportfile

// top is the export's root as the walk's first folder: an os.Root, the
// portable walk (the descriptor walk is Linux's, folder_linux.go).
func (d *DirSource) top() (folder, error) { return d.rootTop() }
