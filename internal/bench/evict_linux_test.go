package bench

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of path the page cache holds (mincore of a
// mapping of it).
func resident(t *testing.T, path string) (in, all int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	// x/sys/unix has no mincore(2) wrapper.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			in++
		}
	}
	return in, len(vec)
}

// TestEvict: a file just written and read is in the page cache; after
// Evict none of its pages is. (Mapping it for mincore reads nothing.)
func TestEvict(t *testing.T) {
	dir := t.TempDir()
	if fs := FileSystem(dir); fs == "tmpfs" || fs == "unknown" {
		t.Skipf("LOUD SKIP: %s is on %s, whose pages cannot be evicted or told apart: nothing to test", dir, fs)
	}
	path := filepath.Join(dir, "object")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if in, all := resident(t, path); in == 0 {
		t.Fatalf("before: 0 of %d pages cached; the test cannot see an eviction", all)
	}
	if err := Evict([]string{path, filepath.Join(dir, "absent")}); err != nil {
		t.Fatal(err)
	}
	if in, all := resident(t, path); in != 0 {
		t.Errorf("after Evict: %d of %d pages still cached", in, all)
	}
	if err := Evict([]string{dir + "/object/below"}); err == nil {
		t.Error("Evict of a path under a file: no error")
	}
}
