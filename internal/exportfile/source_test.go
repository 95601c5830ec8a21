//go:build unix

package exportfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/testutil/slowfs"
)

// walked is what a walk showed of one entry.
type walked struct {
	Name, Problem string
	Size          int64
	Data          string // read through Open
}

func walkAll(t *testing.T, src *DirSource) []walked {
	t.Helper()
	var out []walked
	err := src.Walk(context.Background(), func(e Entry) error {
		w := walked{Name: e.Name, Problem: e.Problem, Size: e.Size}
		if e.Problem == "" {
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
// and a folder too large to list in one system call.
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
	dir := benchutil.WriteTree(t, files)
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

// TestWalkHostile: the walk lists every file in S3's key order, opens
// and hands over regular files, and reports links, special files and
// odd names without following or hiding them.
func TestWalkHostile(t *testing.T) {
	dir := hostileTree(t)
	for _, d := range []string{dir, dir + "/"} {
		src, err := NewDirSource(d)
		if err != nil {
			t.Fatal(err)
		}
		got := walkAll(t, src)
		src.Close()
		byName := map[string]walked{}
		prev := ""
		for _, w := range got {
			if _, dup := byName[w.Name]; dup {
				t.Errorf("%s listed twice", w.Name)
			}
			byName[w.Name] = w
			if !strings.Contains(w.Name, `\`) { // escaped names sort by their raw bytes
				if w.Name <= prev {
					t.Errorf("%s listed after %s: not in key order", w.Name, prev)
				}
				prev = w.Name
			}
		}
		many := 0
		for name, w := range byName {
			if strings.HasPrefix(name, "many/") && w.Problem == "" {
				many++
			}
		}
		if many != 300 {
			t.Errorf("%d of the 300 files of many/ listed", many)
		}
		want := map[string]string{
			"a.json": "", "a/b.json": "", "a-b/c.json": "", "a/b/c/d/e/f/g.json": "",
			`ctl\x01name.json`: "", `bad\xffutf8/x.json`: "", `new\nline/y.json`: "", "ünïcode/zé.json": "",
			"conversation_id=c1/r": "", "big/empty.json": "",
			"link.json": "symbolic link", "dirlink": "symbolic link", "dangling": "symbolic link", "escape": "symbolic link",
			"only-links/l1": "symbolic link", "only-links/l2": "symbolic link", "a/b/c/up": "symbolic link",
			"many/000-zz-link.js": "symbolic link", "fifo.json": "not a regular file", "sock": "not a regular file",
		}
		data := map[string]string{"a.json": "1", "a/b/c/d/e/f/g.json": "4", `ctl\x01name.json`: "5", "big/empty.json": ""}
		for name, problem := range want {
			w, ok := byName[name]
			switch {
			case !ok:
				t.Errorf("%s not listed", name)
			case problem == "" && w.Problem != "":
				t.Errorf("%s: problem %q", name, w.Problem)
			case !strings.Contains(w.Problem, problem):
				t.Errorf("%s: problem %q, want %q", name, w.Problem, problem)
			}
			if d, ok := data[name]; ok && w.Data != d {
				t.Errorf("%s: read %q, want %q", name, w.Data, d)
			}
		}
	}
}

// TestWalkPermissions: a folder that can be read but not searched is one
// folder that cannot be listed, files and folders that cannot be opened
// are reported one by one — on both walks, worded alike. Root opens
// everything, so as root the test runs itself again without the
// capabilities that let it (setpriv, from util-linux).
func TestWalkPermissions(t *testing.T) {
	if os.Geteuid() == 0 && os.Getenv(noDACEnv) == "" {
		runWithoutDAC(t, "TestWalkPermissions")
		return
	}
	dir := benchutil.WriteTree(t, map[string]string{
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
	if _, err := os.ReadFile(filepath.Join(dir, "first/a.json")); err == nil {
		t.Fatal("a file of mode 0 was read: this process opens everything")
	}
	var walks [2][]walked
	for i, portable := range []bool{true, false} {
		src, err := NewDirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		src.portable = portable
		got := walkAll(t, src)
		src.Close()
		walks[i] = got
		var names []string
		for _, w := range got {
			mark := ""
			if w.Problem != "" {
				mark = "!"
			}
			names = append(names, w.Name+mark)
		}
		// "!": an entry with a Problem. The locked folder can be opened but
		// not searched: one entry for the folder.
		want := []string{"first/a.json!", "first/b.json", "locked!", "mixed/a.json", "mixed/b.json!", "mixed/c!", "z.json"}
		if !slices.Equal(names, want) {
			t.Errorf("portable=%v: walk gave %q, want %q (%+v)", portable, names, want, got)
		}
	}
	if !slices.Equal(walks[1], walks[0]) {
		t.Errorf("descriptor walk:\n%v\nos.Root walk:\n%v", walks[1], walks[0])
	}
}

// noDACEnv marks a test binary run by runWithoutDAC.
const noDACEnv = "CUSTODY_TEST_WITHOUT_DAC"

// runWithoutDAC runs the test named test again in a child process that
// has no capabilities (so root's file permissions are checked as
// anyone's), and fails with its output if it fails.
func runWithoutDAC(t *testing.T, test string) {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("SKIPPED: running as root and setpriv (util-linux) is not installed: permissions cannot be tested")
	}
	cmd := exec.Command(setpriv, "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
		os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), noDACEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "=== RUN   "+test) {
		// setpriv itself failed (a container without CAP_SETPCAP): the
		// test never ran, which is said, not passed over.
		t.Skipf("SKIPPED: running as root and setpriv could not drop the capabilities (%v): permissions cannot be tested\n%s", err, out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("%s without capabilities: %v\n%s", test, err, out)
	}
}

// TestWalkStops: an error from fn or a cancelled context ends the walk
// and closes what was opened for it.
func TestWalkStops(t *testing.T) {
	dir := hostileTree(t)
	for _, requests := range []int{1, 8} {
		t.Run(fmt.Sprintf("requests=%d", requests), func(t *testing.T) { walkStops(t, dir, requests) })
	}
}

// walkStops: a walk stops at the first error of fn or at cancellation,
// leaving no file open — nor, when it lists folders ahead (requests
// above 1), any folder or goroutine behind.
func walkStops(t *testing.T, dir string, requests int) {
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.requests = requests
	goroutines := runtime.NumGoroutine()
	boom := errors.New("boom")
	var kept []Entry
	n := 0
	err = src.Walk(context.Background(), func(e Entry) error {
		n++
		if n == 5 {
			kept = append(kept, e)
			return boom
		}
		e.Release()
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
		e.Release()
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Fatalf("err = %v after %d entries, want context.Canceled after 3", err, n)
	}
	// A listing goroutine may still be returning: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("%d goroutines after the walks stopped, %d before", g, goroutines)
	}
}

func TestS3Entry(t *testing.T) {
	cases := []struct{ key, name, problem string }{
		{"exp/a/b.json", "a/b.json", ""},
		{"exp/a/", "", ""},
		{"exp/../etc/passwd", "../etc/passwd", "path traversal"},
		{"exp/a/../../b.json", "a/../../b.json", "path traversal"},
		{"exp//abs.json", "/abs.json", "absolute path"},
		{"exp/a\x00b.json", `a\x00b.json`, "NUL"},
		{"exp/a/./b.json", "a/./b.json", `"." segment`},
		{"exp/a\\..\\b.json", `a\\..\\b.json`, "character"}, // a backslash shown escaped, as Go quotes it
		{"exp/x\\y.json", `x\\y.json`, "character"},
		{"exp/\xff.json", `\xff.json`, "UTF-8"},
		{"other/x.json", "other/x.json", "outside the prefix"},
	}
	for _, tc := range cases {
		e := s3Entry("exp/", tc.key, 0)
		if e.Name != tc.name || (tc.problem == "") != (e.Problem == "") || !strings.Contains(e.Problem, tc.problem) {
			t.Errorf("s3Entry(%q) = %+v, want name %q, problem ~%q", tc.key, e, tc.name, tc.problem)
		}
	}
}

// TestS3SourceRequests: an s3:// export asks its readers for as many files
// in flight as the configuration says (--s3-requests), 64 unless told.
func TestS3SourceRequests(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ requests, want int }{{0, s3util.DefaultRequests}, {5, 5}} {
		src, err := NewSource(ctx, "s3://bucket/export", SourceConfig{S3: s3util.Config{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b", Requests: tc.requests}})
		if err != nil {
			t.Fatal(err)
		}
		ps, ok := src.(ParallelSource)
		if !ok || ps.Parallelism() != tc.want {
			t.Errorf("Requests %d: %T, parallel %v, want Parallelism %d", tc.requests, src, ok, tc.want)
		}
	}
	if got := NewS3Source(nil, "bucket", "").Parallelism(); got != s3util.DefaultRequests {
		t.Errorf("NewS3Source: Parallelism %d, want %d", got, s3util.DefaultRequests)
	}
}

// TestWalkOnShare: on a network share (Parallelism above 1) Walk leaves
// each file for Open; what a walk shows — names, order, problems, bytes —
// is what it shows when it opens files itself, and a share is told by
// its file system unless the caller says how many files to keep in
// flight.
func TestWalkOnShare(t *testing.T) {
	dir := hostileTree(t)
	eager, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer eager.Close()
	if eager.Parallelism() != 1 {
		t.Fatalf("a local folder's Parallelism is %d, want 1", eager.Parallelism())
	}
	want := walkAll(t, eager)

	lazy, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	lazy.requests = 8
	if got := walkAll(t, lazy); !slices.Equal(got, want) {
		t.Errorf("walk leaving files to Open:\n%v\nwant\n%v", got, want)
	}

	share := slowfs.Mount(t, dir, 0)
	src, err := NewSource(context.Background(), share.Dir, SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.(*DirSource).Close()
	if n := src.(ParallelSource).Parallelism(); n != fsinfo.DefaultRequests {
		t.Errorf("a share's Parallelism is %d, want %d", n, fsinfo.DefaultRequests)
	}
	if got := walkAll(t, src.(*DirSource)); !slices.Equal(got, want) {
		t.Errorf("walk of the share:\n%v\nwant\n%v", got, want)
	}
	told, err := NewSource(context.Background(), share.Dir, SourceConfig{FolderRequests: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer told.(*DirSource).Close()
	if n := told.(ParallelSource).Parallelism(); n != 3 {
		t.Errorf("told 3, the share's Parallelism is %d", n)
	}
}

// TestOpenListedSwapped: a file Walk listed and left for Open (a share)
// that was replaced by a FIFO meanwhile is refused at once, not waited
// on for ever; one replaced by another regular file is read.
func TestOpenListedSwapped(t *testing.T) {
	dir := benchutil.WriteTree(t, map[string]string{"a.json": "1", "b.json": "2"})
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.requests = 8
	var entries []Entry
	if err := src.Walk(context.Background(), func(e Entry) error { entries = append(entries, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	if err := os.Remove(filepath.Join(dir, "a.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "a.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte("22"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		rc, err := src.Open(context.Background(), entries[0])
		if err == nil {
			rc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("open of a FIFO swapped in: err = %v, want not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("open of a FIFO swapped in since the listing blocked")
	}
	rc, err := src.Open(context.Background(), entries[1])
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "22" {
		t.Errorf("read %q, want the file as it is now", b)
	}
}

// TestWalkSwapped: on a local disk, where Walk opens each file as it
// lists it, a name replaced since its folder was listed — by a FIFO, a
// symbolic link to another file of the export — is refused as a share's
// Open refuses it (TestOpenListedSwapped), and a FIFO is not waited on
// for ever: nothing would stop that wait, not even SIGTERM.
func TestWalkSwapped(t *testing.T) {
	for _, portable := range []bool{false, true} {
		t.Run(fmt.Sprintf("portable=%v", portable), func(t *testing.T) { walkSwapped(t, portable) })
	}
}

func walkSwapped(t *testing.T, portable bool) {
	dir := benchutil.WriteTree(t, map[string]string{"a.json": "1", "b.json": "2", "c.json": "3", "d.json": "4"})
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.requests = 1 // a local disk: Walk opens
	src.portable = portable
	top, err := src.top()
	if err != nil {
		t.Fatal(err)
	}
	defer top.close()
	ents, err := top.list()
	if err != nil {
		t.Fatal(err)
	}
	// Replaced after the listing, before the walk opens them.
	fifo := filepath.Join(dir, "a.json")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "b.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("c.json", filepath.Join(dir, "b.json")); err != nil {
		t.Fatal(err)
	}
	got := map[string]walked{}
	done := make(chan error, 1)
	go func() {
		done <- src.walk(context.Background(), &walker{}, top, "", 1, ents, func(e Entry) error {
			w := walked{Name: e.Name, Problem: e.Problem}
			if e.Problem == "" {
				rc, err := src.Open(context.Background(), e)
				if err != nil {
					return err
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				w.Data = string(b)
			}
			got[e.Name] = w
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open (a writer comes) so the test can end.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatal("walk blocked on a FIFO swapped in since the listing")
	}
	want := map[string]walked{
		"a.json": {Name: "a.json", Problem: "not a regular file (p---------)"},
		"b.json": {Name: "b.json", Problem: "symbolic link: not followed"},
		"c.json": {Name: "c.json", Data: "3"},
		"d.json": {Name: "d.json", Data: "4"},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %+v, want %+v", name, got[name], w)
		}
	}
}

// TestWalkDepth: folders are walked MaxFolderDepth deep below the root;
// a folder deeper still is one entry with a Problem, its name shortened,
// and nothing below it is listed — on a local disk and on a share.
func TestWalkDepth(t *testing.T) {
	seg := strings.Repeat("d", 10)
	var p []string
	files := map[string]string{}
	for i := 1; i <= MaxFolderDepth+6; i++ {
		p = append(p, seg)
		files[strings.Join(p, "/")+"/f.json"] = fmt.Sprint(i)
	}
	dir := benchutil.WriteTree(t, files)
	tooDeep := strings.Join(p[:MaxFolderDepth+1], "/")
	for _, requests := range []int{1, 8} {
		t.Run(fmt.Sprintf("requests=%d", requests), func(t *testing.T) {
			src, err := NewDirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			src.requests = requests
			var got []walked
			var firstRaw string
			if err := src.Walk(context.Background(), func(e Entry) error {
				if got == nil {
					firstRaw = e.RawName()
				}
				got = append(got, walked{Name: e.Name, Problem: e.Problem})
				e.Release()
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// The shortened name is for showing: a conversation id is read
			// from the whole one.
			if firstRaw != tooDeep {
				t.Errorf("too deep: raw name %.80q… (%d bytes), want the whole %d bytes", firstRaw, len(firstRaw), len(tooDeep))
			}
			// "d/" sorts before "f.json": the deepest come first.
			if len(got) != MaxFolderDepth+1 {
				t.Fatalf("%d entries, want %d", len(got), MaxFolderDepth+1)
			}
			for i, w := range got[1:] {
				depth := MaxFolderDepth - i
				if want := strings.Join(p[:depth], "/") + "/f.json"; w.Name != want || w.Problem != "" {
					t.Errorf("entry %d: %.60q… (%q), want the file %d deep", i+1, w.Name, w.Problem, depth)
				}
			}
			first := got[0]
			if !strings.Contains(first.Problem, fmt.Sprintf("more than %d deep", MaxFolderDepth)) {
				t.Errorf("too deep: problem %q", first.Problem)
			}
			if len(first.Name) > maxNameDisplay+40 || !strings.HasPrefix(first.Name, seg+"/") || !strings.HasSuffix(first.Name, "/"+seg) ||
				!strings.Contains(first.Name, fmt.Sprintf("(%d bytes)", len(tooDeep)-maxNameDisplay)) {
				t.Errorf("too deep: name %.300q (%d bytes), want the %d bytes shortened", first.Name, len(first.Name), len(tooDeep))
			}
		})
	}
}

// TestSafeDisplay: nothing a terminal acts on or that reorders or hides
// text reaches it raw, no two names show alike, and plain names
// (accents, symbols, ASCII spaces) are shown as they are.
func TestSafeDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"conversation_id=c1/r.json": "conversation_id=c1/r.json",
		"Café – ü 😀 a b.json":       "Café – ü 😀 a b.json",
		"a\x1b[2Jb":                 `a\x1b[2Jb`,
		"a\u009b2Jb":                `a\u009b2Jb`,
		"a\u202egnp.json":           `a\u202egnp.json`,
		"a\u00a0b":                  `a\u00a0b`,
		"a\nb":                      `a\nb`,
		`a\nb`:                      `a\\nb`,
		"a\xffb":                    `a\xffb`,
	} {
		if got := SafeDisplay(in); got != want {
			t.Errorf("SafeDisplay(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSafeMessage: a message escapes what SafeDisplay escapes, the same
// way, but keeps its line breaks, tabs and backslashes, so a name
// SafeDisplay showed in it is shown unchanged.
func TestSafeMessage(t *testing.T) {
	for in, want := range map[string]string{
		"erase: under legal hold: c1 (matter hold: Café – LGL-2)": "erase: under legal hold: c1 (matter hold: Café – LGL-2)",
		"matter hold: legal\x1b[2J\x1b]0;pwn\a":                   `matter hold: legal\x1b[2J\x1b]0;pwn\a`,
		"a\u009b31m \u202egnp \x00 \x7f \r":                       `a\u009b31m \u202egnp \x00 \x7f \r`,
		"a\u00a0b\xffc":                                           `a\u00a0b\xffc`,
		"line one\n\tline two":                                    "line one\n\tline two",
		"open " + SafeDisplay("esc\x1b[2J\\x.json"):               `open esc\x1b[2J\\x.json`,
	} {
		if got := SafeMessage(in); got != want {
			t.Errorf("SafeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWalkKinds: the descriptor walk (Linux) shows a hostile tree
// exactly as the portable os.Root walk does — names, order, problems,
// bytes — opening files itself and leaving them to Open (a share).
func TestWalkKinds(t *testing.T) {
	dir := hostileTree(t)
	for _, requests := range []int{1, 8} {
		var got [2][]walked
		for i, portable := range []bool{true, false} {
			src, err := NewDirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			src.requests, src.portable = requests, portable
			got[i] = walkAll(t, src)
			src.Close()
		}
		if len(got[0]) < 300 {
			t.Fatalf("requests=%d: %d entries: the tree was not walked", requests, len(got[0]))
		}
		if !slices.Equal(got[1], got[0]) {
			t.Errorf("requests=%d: descriptor walk:\n%v\nos.Root walk:\n%v", requests, got[1], got[0])
		}
	}
}

// TestCompareDirents holds the walk's order to its definition — a
// folder's name compared as "name/" — on every pair of short names over
// bytes around "/" (folders and files alike, prefixes of each other).
func TestCompareDirents(t *testing.T) {
	alphabet := []string{"", "-", ".", "0", "a", "\xff"}
	var names []string
	for _, a := range alphabet {
		for _, b := range alphabet {
			for _, c := range alphabet {
				if n := a + b + c; n != "" {
					names = append(names, n)
				}
			}
		}
	}
	key := func(d dirent) string {
		if d.IsDir() {
			return d.name + "/"
		}
		return d.name
	}
	for _, x := range names {
		for _, y := range names {
			for _, dirs := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				a := dirent{name: x}
				b := dirent{name: y}
				if dirs[0] {
					a.typ = fs.ModeDir
				}
				if dirs[1] {
					b.typ = fs.ModeDir
				}
				if got, want := compareDirents(a, b), strings.Compare(key(a), key(b)); got != want {
					t.Fatalf("compareDirents(%q dir=%v, %q dir=%v) = %d, want %d", x, dirs[0], y, dirs[1], got, want)
				}
			}
		}
	}
}
