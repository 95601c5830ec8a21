//go:build windows

package fsinfo

import (
	"path/filepath"

	"golang.org/x/sys/windows"
)

// remoteAt asks Windows about the drive or share holding path: a mapped
// network drive or a UNC path (\\server\share) is remote.
func remoteAt(path string) (string, bool) {
	vol := filepath.VolumeName(path)
	if vol == "" {
		return "", false
	}
	root, err := windows.UTF16PtrFromString(vol + `\`)
	if err != nil {
		return "", false
	}
	if windows.GetDriveType(root) == windows.DRIVE_REMOTE {
		return "smb", true
	}
	return "", false
}
