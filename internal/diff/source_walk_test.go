//go:build unix

package diff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// walked is what a walk showed of one entry.
type walked struct {
	Name, Problem string
	Size          int64
	Data          string // read through Open
}

func walkAll(t *testing.T, src *DirSource, walk func(context.Context, func(Entry) error) error) []walked {
	t.Helper()
	var out []walked
	err := walk(context.Background(), func(e Entry) error {
		w := walked{Name: e.Name, Problem: e.Problem, Size: e.Size}
		if e.Problem == "" {
			if _, ok := e.file.(*os.File); !ok {
				w.Data = "fd:" // the Linux walk's own files, so a fast walk shows
			}
			rc, err := src.Open(context.Background(), e)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(rc)
			if err != nil {
				w.Data += "read error: " + err.Error()
			} else {
				w.Data += string(b)
			}
			if err := rc.Close(); err != nil {
				return err
			}
		}
		out = append(out, w)
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return out
}

// hostileTree is a folder with what an export folder may hold besides
// plain files: odd names, links, special files, empty and deep folders,
// and a folder too large for one getdents64 call.
func hostileTree(t *testing.T) string {
	files := map[string]string{
		"a.json":                 "1",
		"a/b.json":               "2",
		"a-b/c.json":             "3",
		"a/b/c/d/e/f/g.json":     "4",
		"ctl\x01name.json":       "5",
		"bad\xffutf8/x.json":     "6",
		"new\nline/y.json":       "7",
		"ünïcode/zé.json":        "8",
		"conversation_id=c1/r":   "9",
		"big/" + "empty.json":    "",
		"org/year=2024/z.jsonl":  "10",
		"org/year=2024/z.jsonl2": "11",
	}
	for i := range 300 {
		files[fmt.Sprintf("many/%03d-%s.json", i, strings.Repeat("n", 40))] = fmt.Sprint(i)
	}
	dir := writeTree(t, files)
	for _, d := range []string{"empty-dir", "only-links", "a/empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"link.json":           "a.json",
		"dirlink":             "a",
		"dangling":            "nowhere",
		"escape":              "../../../../etc/passwd",
		"only-links/l1":       "../a.json",
		"only-links/l2":       "../a",
		"a/b/c/up":            "../../..",
		"many/000-zz-link.js": "../a.json",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket; its path must fit sun_path, so bind from inside dir.
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", "sock")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return dir
}

// TestWalkMatchesRoot: the walk Run uses lists, names, reports and opens
// exactly what the portable os.Root walk does, in the same order.
func TestWalkMatchesRoot(t *testing.T) {
	dir := hostileTree(t)
	for _, d := range []string{dir, dir + "/"} {
		src, err := NewDirSource(d)
		if err != nil {
			t.Fatal(err)
		}
		want := walkAll(t, src, src.walkRoot)
		got := walkAll(t, src, src.Walk)
		src.Close()
		if runtime.GOOS == "linux" {
			for i := range got {
				if got[i].Problem == "" && !strings.HasPrefix(got[i].Data, "fd:") {
					t.Fatalf("%s: Walk opened an *os.File: the Linux walk did not run", got[i].Name)
				}
				got[i].Data = strings.TrimPrefix(got[i].Data, "fd:")
			}
		}
		if len(want) < 300 {
			t.Fatalf("reference walk listed only %d entries", len(want))
		}
		for i := range max(len(want), len(got)) {
			var w, g walked
			if i < len(want) {
				w = want[i]
			}
			if i < len(got) {
				g = got[i]
			}
			if w != g {
				t.Errorf("entry %d: Walk gave %+v, walkRoot %+v", i, g, w)
			}
		}
		problems := 0
		for _, w := range want {
			if w.Problem != "" {
				problems++
			}
		}
		if problems < 8 {
			t.Errorf("only %d entries with a problem: the tree lost its hostile entries", problems)
		}
	}
}

// TestWalkPermissions: a folder that can be read but not searched is one
// folder that cannot be listed, files and folders that cannot be opened
// are reported one by one, in both walks alike (skipped as root, who
// opens everything).
func TestWalkPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens everything")
	}
	dir := writeTree(t, map[string]string{
		"locked/a.json": "1", "locked/b/c.json": "2",
		"mixed/a.json": "3", "mixed/b.json": "4", "mixed/c/d.json": "5",
		"first/a.json": "6", "first/b.json": "7",
		"z.json": "8",
	})
	for name, mode := range map[string]os.FileMode{
		"locked": 0o400, "mixed/b.json": 0, "mixed/c": 0, "first/a.json": 0,
	} {
		p := filepath.Join(dir, name)
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o755) })
	}
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := walkAll(t, src, src.walkRoot)
	got := walkAll(t, src, src.Walk)
	for i := range got {
		got[i].Data = strings.TrimPrefix(got[i].Data, "fd:")
	}
	if len(want) != 7 {
		t.Errorf("walkRoot gave %d entries, want 7: %+v", len(want), want)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Walk gave %+v\nwalkRoot gave %+v", got, want)
	}
}

// TestWalkStops: an error from fn or a cancelled context ends the walk
// and closes what was opened for it.
func TestWalkStops(t *testing.T) {
	dir := hostileTree(t)
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	boom := errors.New("boom")
	var kept []Entry
	n := 0
	err = src.Walk(context.Background(), func(e Entry) error {
		n++
		if n == 5 {
			kept = append(kept, e)
			return boom
		}
		e.release()
		return nil
	})
	if !errors.Is(err, boom) || n != 5 {
		t.Fatalf("err = %v after %d entries, want boom after 5", err, n)
	}
	for _, e := range kept {
		if e.file != nil {
			if _, err := e.file.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
				t.Errorf("%s: file left open after the walk stopped (read: %v)", e.Name, err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = src.Walk(ctx, func(e Entry) error {
		e.release()
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Fatalf("err = %v after %d entries, want context.Canceled after 3", err, n)
	}
}
