package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The floor is the fastest local read-and-hash of the files a command
// reads: what no verification or comparison of them can beat. It is
// measured in the same run as the command, with several tools, so that
// a ratio is against the best of them on this machine at this load, not
// against a slow baseline.

// FloorRun is one timed read-and-hash of a set of files by one method.
type FloorRun struct {
	Method string        // "go sha256 ×N", "sha256sum", "openssl dgst -sha256 ×N", …
	Files  int           // files hashed
	Bytes  int64         // bytes hashed (Go method; the tools read the same files)
	Wall   time.Duration // wall time
	CPU    time.Duration // user + system CPU (a child's, with its children; the Go method's process)
}

// Files lists the regular files under dir (sorted, as a walk visits
// them) and their total size. The listing is not timed: every method
// hashes the same list.
func Files(dir string) ([]string, int64, error) {
	var files []string
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, p)
		size += fi.Size()
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("bench: list %s: %w", dir, err)
	}
	return files, size, nil
}

// floorMethod is one way of reading and hashing a list of files.
type floorMethod struct {
	name string
	run  func(ctx context.Context, files []string) (FloorRun, error)
}

// floorMethods are the methods available here: Go's crypto/sha256 over
// parallel reads (one reader per processor), and sha256sum and openssl
// dgst -sha256 when installed, each as one process (how a person checks
// a folder) and as one per processor (xargs -P).
func floorMethods() []floorMethod {
	n := runtime.GOMAXPROCS(0)
	ms := []floorMethod{{name: fmt.Sprintf("go sha256 ×%d", n), run: func(ctx context.Context, files []string) (FloorRun, error) {
		return goFloor(ctx, files, n)
	}}}
	for _, tool := range [][]string{{"sha256sum"}, {"openssl", "dgst", "-sha256"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			continue
		}
		name := strings.Join(tool, " ")
		ms = append(ms, floorMethod{name: name, run: func(ctx context.Context, files []string) (FloorRun, error) {
			return toolFloor(ctx, files, tool, 1)
		}})
		if n > 1 {
			ms = append(ms, floorMethod{name: fmt.Sprintf("%s ×%d", name, n), run: func(ctx context.Context, files []string) (FloorRun, error) {
				return toolFloor(ctx, files, tool, n)
			}})
		}
	}
	for i := range ms {
		run := ms[i].run
		name := ms[i].name
		ms[i].run = func(ctx context.Context, files []string) (FloorRun, error) {
			r, err := run(ctx, files)
			r.Method, r.Files = name, len(files)
			return r, err
		}
	}
	return ms
}

// goFloor hashes files with workers goroutines, each with its own buffer.
func goFloor(ctx context.Context, files []string, workers int) (FloorRun, error) {
	var r FloorRun
	var next atomic.Int64
	var bytes atomic.Int64
	errs := make([]error, workers)
	cpu0 := selfCPU()
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				n, err := hashFile(files[i], buf)
				if err != nil {
					errs[w] = err
					return
				}
				bytes.Add(n)
			}
		})
	}
	wg.Wait()
	r.Wall, r.CPU, r.Bytes = time.Since(t0), selfCPU()-cpu0, bytes.Load()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return r, fmt.Errorf("bench: read and hash: %w", err)
	}
	return r, nil
}

func hashFile(name string, buf []byte) (int64, error) {
	fh, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, struct{ io.Reader }{fh}, buf)
	h.Sum(nil)
	return n, err
}

// toolFloor runs `xargs -0 [-P procs -n K] TOOL… ` over files, output
// discarded; the file list is written first, untimed.
func toolFloor(ctx context.Context, files []string, tool []string, procs int) (FloorRun, error) {
	var r FloorRun
	list, err := os.CreateTemp("", "custody-bench-files-")
	if err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(list.Name())
	defer list.Close()
	if _, err := io.WriteString(list, strings.Join(files, "\x00")+"\x00"); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	if _, err := list.Seek(0, io.SeekStart); err != nil {
		return r, fmt.Errorf("bench: %w", err)
	}
	args := []string{"-0"}
	if procs > 1 {
		// A few batches per process, so that one slow batch does not
		// leave the others idle at the end.
		per := max(1, (len(files)+4*procs-1)/(4*procs))
		args = append(args, "-P", strconv.Itoa(procs), "-n", strconv.Itoa(per))
	}
	cmd := exec.CommandContext(ctx, "xargs", append(args, tool...)...)
	cmd.Stdin = list
	var stderr tailBuffer
	cmd.Stderr = &stderr // stdout: nil is /dev/null
	t0 := time.Now()
	err = cmd.Run()
	r.Wall = time.Since(t0)
	if err != nil {
		return r, fmt.Errorf("bench: %s: %w\n%s", strings.Join(tool, " "), err, stderr.String())
	}
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// medianFloor is, for each method, the run with the median wall time.
func medianFloor(runs [][]FloorRun) []FloorRun {
	if len(runs) == 0 {
		return nil
	}
	var out []FloorRun
	for m := range runs[0] {
		var ws []FloorRun
		for _, rs := range runs {
			ws = append(ws, rs[m])
		}
		slices.SortFunc(ws, func(a, b FloorRun) int { return cmpDuration(a.Wall, b.Wall) })
		out = append(out, ws[len(ws)/2])
	}
	return out
}

// medianRun is the run of median wall time among runs of one method
// (the zero FloorRun for none).
func medianRun(runs []FloorRun) FloorRun {
	if len(runs) == 0 {
		return FloorRun{}
	}
	each := make([][]FloorRun, len(runs)) // medianFloor's shape: a method a run
	for i, r := range runs {
		each[i] = []FloorRun{r}
	}
	return medianFloor(each)[0]
}

// fastest is the floor run with the least wall time.
func fastest(floor []FloorRun) FloorRun {
	if len(floor) == 0 {
		return FloorRun{}
	}
	return slices.MinFunc(floor, func(a, b FloorRun) int { return cmpDuration(a.Wall, b.Wall) })
}

// byMethod is the floor run of the method named, if measured.
func byMethod(floor []FloorRun, name string) (FloorRun, bool) {
	for _, f := range floor {
		if f.Method == name {
			return f, true
		}
	}
	return FloorRun{}, false
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}
