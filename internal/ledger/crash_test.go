//go:build unix

package ledger

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// crashHelperEnv makes the test binary an appending process that
// TestCrashKeepsCommits kills.
const crashHelperEnv = "CUSTODY_LEDGER_CRASH_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashHelperEnv); path != "" {
		os.Exit(crashHelper(path))
	}
	os.Exit(m.Run())
}

// crashHelper appends batches to the ledger at path until it is killed,
// with background checkpoints after every few commits and a small WAL
// ceiling, so kills land in and around checkpoints of both kinds. After
// each commit it prints the ledger's size.
func crashHelper(path string) int {
	ctx := context.Background()
	l, err := Open(ctx, path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l.ckptEvery = 60
	l.ckpt.ceiling = 40
	l.keyMove, l.keyFanout = 64, 2
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		batch := make([]leaf.Entry, 1+i%50)
		for j := range batch {
			batch[j] = message(fmt.Sprintf("conv-%d-%d", os.Getpid(), i), j)
		}
		got, err := l.Append(ctx, batch...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(out, "%d\n", got[len(got)-1].Seq+1)
		out.Flush()
	}
}

// TestCrashKeepsCommits kills an appending process (SIGKILL: no cleanup)
// at random moments, again and again on the same ledger: every append the
// process had reported committed must be there when the ledger is opened
// again, the ledger must verify, and lookups must find the last entries.
func TestCrashKeepsCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	f := newFixture(t)
	f.l.Close()
	f.l = nil
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(benchutil.CrashSeed(t), 2))
	for round := range 6 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+f.path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		committed := make(chan uint64, 1<<16)
		go func() {
			defer close(committed)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				n, err := strconv.ParseUint(sc.Text(), 10, 64)
				if err == nil {
					committed <- n
				}
			}
		}()
		// Let it run for a while, then kill it mid-flight.
		<-committed
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var last uint64
		for n := range committed {
			last = n
		}
		cmd.Wait()
		if strings.TrimSpace(stderr.String()) != "" {
			t.Fatalf("round %d: helper failed: %s", round, stderr.String())
		}

		f.reopen()
		h, err := f.l.Head(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Size < last {
			t.Fatalf("round %d: the helper reported %d entries committed, the ledger holds %d", round, last, h.Size)
		}
		t.Logf("round %d: %d entries reported, %d in the ledger", round, last, h.Size)
		if rep := f.verify(); !rep.OK || rep.Entries != h.Size {
			t.Fatalf("round %d: verify: %+v", round, rep)
		}
		lastEntry, err := f.l.Entry(f.ctx, h.Size-1)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok, err := f.l.LatestCapture(f.ctx, lastEntry.MessageID); err != nil || !ok || e.Seq != h.Size-1 {
			t.Errorf("round %d: LatestCapture of the last entry: %d %v %v", round, e.Seq, ok, err)
		}
		f.l.Close()
		f.l = nil
	}
}
