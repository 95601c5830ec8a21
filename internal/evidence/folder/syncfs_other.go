//go:build !linux

package folder

import (
	"errors"
	"os"
)

// Elsewhere a batch is made durable with per-file and per-directory
// fsync: syncfs(2) is Linux's.

func openSyncfs(string) (*os.File, error) { return nil, nil }

var sameFileSystem = func(uint64, *os.File) (bool, error) { return false, nil }

func deviceOf(*os.File) (uint64, error) { return 0, nil }

var syncfsFile = func(*os.File) error { return errors.New("syncfs: not on this system") }
