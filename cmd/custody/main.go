// Command custody keeps a defensible chain of custody for WhatsApp
// conversations held in Genesys Cloud. See the README and docs/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
)

func main() { os.Exit(runMain()) }

// runMain is the process as a user runs it (the tests' child processes
// run it too): Ctrl-C (kill -INT) and SIGTERM cancel the context, and
// CUSTODY_CPUPROFILE, CUSTODY_ALLOCPROFILE and CUSTODY_TRACE profile the
// command.
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := cpuProfile(os.Getenv("CUSTODY_CPUPROFILE"), os.Stderr)
	stopTrace := execTrace(os.Getenv("CUSTODY_TRACE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopTrace()
	stopProfile()
	allocProfile(os.Getenv("CUSTODY_ALLOCPROFILE"), os.Stderr)
	return code
}

// cpuProfile writes a pprof CPU profile of the whole command to path
// when it is set (CUSTODY_CPUPROFILE, for docs/benchmarks.md): perf's
// stacks through cgo and the kernel slow a run down several times, and
// a profile of what the user ran is worth more than one of a benchmark.
func cpuProfile(path string, stderr *os.File) (stop func()) {
	return recordTo(path, "CUSTODY_CPUPROFILE", "a profile", stderr, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// execTrace writes a Go execution trace of the whole command to path when
// it is set (CUSTODY_TRACE; `go tool trace FILE`): which goroutines ran
// when, so that a pipeline's idle cores show, which a CPU profile cannot.
func execTrace(path string, stderr *os.File) (stop func()) {
	return recordTo(path, "CUSTODY_TRACE", "a trace", stderr, trace.Start, trace.Stop)
}

// recordTo starts a recording of the command (start, into a new file at
// path) when path is set, and returns what ends it (end, then the file
// closed). It never changes what the command does: a recording that cannot
// be written is reported under env's name and the command runs without
// what (a profile, a trace).
func recordTo(path, env, what string, stderr *os.File, start func(io.Writer) error, end func()) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "custody: %s: %v (running without %s)\n", env, err, what)
		return func() {}
	}
	return func() {
		end()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "custody: %s: %v\n", env, err)
		}
	}
}

// allocProfile writes a pprof profile of every allocation the command
// made to path when it is set (CUSTODY_ALLOCPROFILE): where the
// collector's work comes from.
func allocProfile(path string, stderr *os.File) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "custody: CUSTODY_ALLOCPROFILE: %v\n", err)
	}
}
