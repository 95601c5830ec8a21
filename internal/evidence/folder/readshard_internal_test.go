//go:build unix

package folder

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestReadShard holds readShard to the listing it replaced: os.ReadDir,
// each name a key of this shard's address (not a directory) an object,
// everything else another entry, with its type. The shard holds objects
// in no order, a key of another shard, upper-case and short names, a
// temporary file, a directory and a link named as keys, a FIFO, and more
// entries than one getdents64 buffer holds.
func TestReadShard(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ab")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(i int) string {
		for j := 0; ; j++ {
			s := sha256.Sum256(fmt.Appendf(nil, "%d/%d", i, j))
			if s[0] == 0xab {
				return fmt.Sprintf("%x", s)
			}
		}
	}
	for i := range 2000 { // 2000 names of 64 bytes: several 32 KiB buffers
		put(key(i))
	}
	other := sha256.Sum256([]byte("another shard"))
	other[0] = 0xac
	put(fmt.Sprintf("%x", other))
	put(strings.ToUpper(key(5000)))
	put("ab")
	put(".tmp-" + key(5001))
	if err := os.Mkdir(filepath.Join(dir, key(5002)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("elsewhere", filepath.Join(dir, key(5003))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("elsewhere", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}

	objs, others, err := readShard(dir, 0xab, make([]hashchain.Hash, 1, 8)[:0])
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wantObjs []hashchain.Hash
	var wantOthers []string
	for _, e := range ents {
		var sum hashchain.Hash
		if !e.IsDir() && lowerHex(e.Name(), sum[:]) && sum[0] == 0xab {
			wantObjs = append(wantObjs, sum)
		} else {
			wantOthers = append(wantOthers, fmt.Sprintf("%s %v", e.Name(), e.Type()))
		}
	}
	if len(wantObjs) != 2001 || len(wantOthers) != 7 { // the keys and the link named as one
		t.Fatalf("the fixture: %d objects and %d others", len(wantObjs), len(wantOthers))
	}
	if !slices.Equal(objs, wantObjs) {
		t.Errorf("objects: %d, not %d in ascending order as os.ReadDir lists them", len(objs), len(wantObjs))
	}
	var got []string
	for _, e := range others {
		got = append(got, fmt.Sprintf("%s %v", e.Name(), e.Type()))
		if e.IsDir() != e.Type().IsDir() {
			t.Errorf("%s: IsDir %v, type %v", e.Name(), e.IsDir(), e.Type())
		}
		if fi, err := e.Info(); err != nil || fi.Mode().Type() != e.Type() {
			t.Errorf("%s: Info %v, %v; type %v", e.Name(), fi, err, e.Type())
		}
	}
	if !slices.Equal(got, wantOthers) {
		t.Errorf("others:\n%q\nwant\n%q", got, wantOthers)
	}
	if _, _, err := readShard(filepath.Join(dir, "link"), 0xab, nil); err == nil {
		t.Error("a link where the shard should be was listed, not refused")
	}
	if _, _, err := readShard(filepath.Join(dir, "nothing"), 0xab, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a shard that is not there: %v, want fs.ErrNotExist", err)
	}
}

// TestLowerHex: only the lower-case spelling of exactly out's bytes.
func TestLowerHex(t *testing.T) {
	var out [2]byte
	for _, c := range []struct {
		in   string
		ok   bool
		want [2]byte
	}{{"00ff", true, [2]byte{0, 0xff}}, {"a0b1", true, [2]byte{0xa0, 0xb1}}, {"A0b1", false, [2]byte{}}, {"a0b", false, [2]byte{}},
		{"a0b1c", false, [2]byte{}}, {"g0b1", false, [2]byte{}}, {"a0b\x00", false, [2]byte{}}, {"", false, [2]byte{}}} {
		out = [2]byte{}
		if ok := lowerHex(c.in, out[:]); ok != c.ok || (ok && out != c.want) {
			t.Errorf("lowerHex(%q) = %v, %x", c.in, ok, out)
		}
		if ok := lowerHex([]byte(c.in), out[:]); ok != c.ok {
			t.Errorf("lowerHex([]byte(%q)) = %v", c.in, ok)
		}
	}
}
