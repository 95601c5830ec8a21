//go:build linux && cgo

package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDescriptorTablePresized: the process starts with a descriptor table
// of 1,024 slots, or 512 under a lower limit on open files
// (fdtable_linux.go), so opening the evidence store's 256 shard folders
// never grows it while threads share it. Without the constructor a test
// process's table is 64 slots, or a few hundred.
func TestDescriptorTablePresized(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < 512 {
		t.Skipf("open files are limited to %d here: the table is not presized", lim.Max)
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "FDSize:")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatal(err)
		}
		if n < 512 {
			t.Errorf("the descriptor table has %d slots, want 1024 (512 under a lower limit) from the start", n)
		}
		return
	}
	t.Fatal("no FDSize in /proc/self/status")
}
