package exportfile

import (
	"io"
	"io/fs"
	"os"
)

// dirent is one name a folder lists, with its type bits as
// fs.DirEntry.Type gives them.
type dirent struct {
	name string
	typ  fs.FileMode
}

func (d dirent) IsDir() bool { return d.typ.IsDir() }

// folder is one open folder of a walk. Every folder is opened below the
// last and every file below its folder, one name at a time and never
// through a symbolic link, so nothing outside the root is reached.
// rootFolder, an os.Root, is the portable one and the reference; on Linux
// the walk uses fdFolder (folder_linux.go), which does the same with
// half the system calls.
type folder interface {
	// list gives every name in the folder but "." and "..".
	list() ([]dirent, error)
	// sub opens the subfolder name.
	sub(name string) (folder, error)
	// open opens name as an export file, by openRegular's rules: problem
	// says why it is refused, err is any other failure.
	open(name string) (f io.ReadCloser, problem string, err error)
	close()
}

// rootFolder is a folder opened as an os.Root.
type rootFolder struct{ r *os.Root }

func (f rootFolder) list() ([]dirent, error) {
	ents, err := readDir(f.r)
	if err != nil {
		return nil, err
	}
	out := make([]dirent, len(ents))
	for i, de := range ents {
		out[i] = dirent{name: de.Name(), typ: de.Type()}
	}
	return out, nil
}

func (f rootFolder) sub(name string) (folder, error) {
	r, err := f.r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	return rootFolder{r}, nil
}

func (f rootFolder) open(name string) (io.ReadCloser, string, error) {
	file, problem, err := openRegular(f.r, name)
	if file == nil { // not a nil *os.File in a non-nil interface
		return nil, problem, err
	}
	return file, "", nil
}

func (f rootFolder) close() { f.r.Close() }

// readDir lists the folder dir.
func readDir(dir *os.Root) ([]fs.DirEntry, error) {
	f, err := dir.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// rootTop is the export's root as a folder of the portable kind: its
// own os.Root, so that the walk may close it.
func (d *DirSource) rootTop() (folder, error) {
	r, err := d.root.OpenRoot(".")
	if err != nil {
		return nil, err
	}
	return rootFolder{r}, nil
}
