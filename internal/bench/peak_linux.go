package bench

import (
	"bytes"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// watchPeak samples the peak resident set (VmHWM) of process pid every
// 10 ms until stop is called, which returns the largest sample in bytes
// (0 if none was read). getrusage cannot be used for a child of this
// process on Linux: Go starts children with vfork, and exec records the
// hiwater mark of the memory the child shared with its parent, so
// ru_maxrss is at least this process's own peak (after building a
// million-message fixture, more than the diff's). VmHWM after exec is the
// child's alone; a peak reached in the last few milliseconds may be
// missed, never overstated.
func watchPeak(pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	name := "/proc/" + strconv.Itoa(pid) + "/status"
	sample := func() {
		b, err := os.ReadFile(name)
		if err != nil {
			return
		}
		_, rest, ok := bytes.Cut(b, []byte("\nVmHWM:"))
		if !ok {
			return
		}
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(line), []byte(" kB"))), 10, 64)
		if err == nil && kb*1024 > peak.Load() {
			peak.Store(kb * 1024)
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak.Load()
	}
}
