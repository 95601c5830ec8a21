package fsinfo

import "os"

// SyncDir syncs the folder dir, so that a file just named in it (created,
// linked or renamed there) stays named after a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
