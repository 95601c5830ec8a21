package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
)

// matterScriptCmds hand a matter over in the scripts: copy its folder,
// make it read-only, check that nothing in it changed, tamper with one
// evidence object, and watch the writer lock.
func matterScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	type state struct {
		data  []byte
		mode  fs.FileMode
		mtime time.Time
	}
	snapshots := map[string]map[string]state{}
	snap := func(ts *testscript.TestScript, dir string) map[string]state {
		out := map[string]state{}
		ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			st := state{mode: fi.Mode(), mtime: fi.ModTime()}
			if fi.Mode().IsRegular() {
				if st.data, err = os.ReadFile(p); err != nil {
					return err
				}
			}
			out[p] = st
			return nil
		}))
		return out
	}
	chmodTree := func(ts *testscript.TestScript, dir string, writable bool) {
		ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			mode := fi.Mode().Perm() &^ 0o222
			if writable {
				mode |= 0o200
			}
			return os.Chmod(p, mode)
		}))
	}
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// copytree SRC DST: copy a folder (a matter) to a new place.
		"copytree": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: copytree SRC DST")
			}
			ts.Check(os.CopyFS(ts.MkAbs(args[1]), os.DirFS(ts.MkAbs(args[0]))))
		},
		// readonly DIR: chmod -R a-w DIR (restored when the script ends).
		"readonly": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: readonly DIR")
			}
			dir := ts.MkAbs(args[0])
			chmodTree(ts, dir, false)
			ts.Defer(func() { chmodTree(ts, dir, true) })
		},
		// snapshot DIR: remember every file under DIR (bytes, mode, mtime);
		// unchanged DIR: require the same files, unchanged, now.
		"snapshot": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: snapshot DIR")
			}
			snapshots[ts.MkAbs(args[0])] = snap(ts, ts.MkAbs(args[0]))
			time.Sleep(20 * time.Millisecond) // so that a write would show in an mtime
		},
		"unchanged": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: unchanged DIR")
			}
			dir := ts.MkAbs(args[0])
			before, ok := snapshots[dir]
			if !ok {
				ts.Fatalf("unchanged %s: no snapshot", args[0])
			}
			after := snap(ts, dir)
			for p, b := range before {
				a, ok := after[p]
				switch {
				case !ok:
					ts.Fatalf("%s was removed", p)
				case !bytes.Equal(a.data, b.data) || a.mode != b.mode || !a.mtime.Equal(b.mtime):
					ts.Fatalf("%s changed", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					ts.Fatalf("%s was created", p)
				}
			}
		},
		// tamper-evidence DIR: alter the first evidence object under the
		// folder store DIR, keeping its mode and mtime.
		"tamper-evidence": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: tamper-evidence DIR")
			}
			var objects []string
			ts.Check(filepath.WalkDir(filepath.Join(ts.MkAbs(args[0]), "sha256"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					objects = append(objects, p)
				}
				return err
			}))
			if len(objects) == 0 {
				ts.Fatalf("no evidence under %s", args[0])
			}
			slices.Sort(objects)
			p := objects[0]
			fi, err := os.Stat(p)
			ts.Check(err)
			ts.Check(os.Chmod(p, 0o644))
			b, err := os.ReadFile(p)
			ts.Check(err)
			b[len(b)/2] ^= 0x20
			ts.Check(os.WriteFile(p, b, 0o644))
			ts.Check(os.Chmod(p, fi.Mode().Perm()))
			ts.Check(os.Chtimes(p, fi.ModTime(), fi.ModTime()))
			fmt.Fprintln(ts.Stdout(), filepath.Base(p))
		},
		// set-recorded LEDGER LOCATION: record LOCATION as the ledger's
		// evidence store, as an older custody did (an absolute path).
		"set-recorded": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: set-recorded LEDGER LOCATION")
			}
			ctx := context.Background()
			l, err := ledger.Open(ctx, ts.MkAbs(args[0]), ledger.Options{})
			ts.Check(err)
			defer l.Close()
			ts.Check(l.SetState(ctx, matter.StateEvidence, args[1]))
		},
		// wait-lock LEDGER: wait (up to a minute) until a writer holds the
		// matter's lock.
		"wait-lock": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: wait-lock LEDGER")
			}
			name := matter.LockPath(ts.MkAbs(args[0]))
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if b, _ := os.ReadFile(name); len(bytes.TrimSpace(b)) > 0 {
					return
				}
			}
			ts.Fatalf("no writer took %s", name)
		},
		// while-locked LEDGER N [status=CODE] COMMAND ARGS...: run COMMAND
		// again and again while a writer holds the matter's lock; every
		// run must succeed (or exit CODE), and at least N must run.
		"while-locked": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 3 {
				ts.Fatalf("usage: while-locked LEDGER N [status=CODE] COMMAND [ARGS...]")
			}
			name := matter.LockPath(ts.MkAbs(args[0]))
			var min int
			_, err := fmt.Sscan(args[1], &min)
			ts.Check(err)
			also := -1 // an exit status that counts as success too
			if code, ok := strings.CutPrefix(args[2], "status="); ok {
				_, err := fmt.Sscan(code, &also)
				ts.Check(err)
				args = append(args[:2:2], args[3:]...)
			}
			n := 0
			for {
				if b, _ := os.ReadFile(name); len(bytes.TrimSpace(b)) == 0 {
					break
				}
				err := ts.Exec(args[2], args[3:]...)
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.ExitCode() == also {
					err = nil
				}
				if err != nil {
					ts.Fatalf("run %d of %s while a writer works: %v\n%s", n+1, strings.Join(args[2:], " "), err, ts.ReadFile("stderr"))
				}
				n++
			}
			if n < min {
				ts.Fatalf("%d runs while a writer worked, want at least %d", n, min)
			}
			ts.Logf("%d runs of %s while a writer worked", n, strings.Join(args[2:], " "))
		},
	}
}
