package folder_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/testutil/slowfs"
)

// openWith opens the folder store at dir through a backend whose
// --folder-requests flag was given args.
func openWith(t testing.TB, dir string, args ...string) evidence.Store {
	t.Helper()
	b := folder.New()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	b.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	s, err := b.Open(context.Background(), dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The figure a folder store asks for: 1 on a local disk, 32 on a share
// (auto), whatever --folder-requests says otherwise.
func TestFolderRequests(t *testing.T) {
	local := t.TempDir()
	share := slowfs.Mount(t, t.TempDir(), 0)
	for _, c := range []struct {
		dir  string
		args []string
		want int
	}{
		{local, nil, 1},
		{local, []string{"--folder-requests", "auto"}, 1},
		{local, []string{"--folder-requests", "12"}, 12},
		{share.Dir, nil, fsinfo.DefaultRequests},
		{share.Dir, []string{"--folder-requests=3"}, 3},
	} {
		if got := evidence.Parallelism(openWith(t, c.dir, c.args...)); got != c.want {
			t.Errorf("%s %v: Parallelism %d, want %d", c.dir, c.args, got, c.want)
		}
	}
	for _, bad := range []string{"0", "-2", "many", ""} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(nopWriter{})
		folder.New().AddFlags(fs)
		if err := fs.Parse([]string{"--folder-requests=" + bad}); err == nil {
			t.Errorf("--folder-requests=%q accepted", bad)
		}
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// putObjects stores n small objects in dir and returns their addresses.
func putObjects(t testing.TB, dir string, n int) []hashchain.Hash {
	t.Helper()
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := make([][]byte, n)
	for i := range data {
		data[i] = fmt.Appendf(nil, `{"object":%d,"pad":"%0400d"}`, i, i)
	}
	refs, err := evidence.PutAll(context.Background(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	sums := make([]hashchain.Hash, n)
	for i, r := range refs {
		sums[i] = r.Sum
	}
	return sums
}

// Verifying a store on a share keeps many reads in flight: with auto, the
// share holds a dozen requests or more at once; told 1, at most verify's
// own floor of workers (4, or one a processor) and the walk that lists the
// store beside them (a -count=2 run saw five at once: the walk's listing
// overlapping four reads). Without the share's figure the first
// case held 4 too, and a verify of a matter on a share took 5 times as
// long (docs/benchmarks.md).
func TestVerifyOnShareKeepsReadsInFlight(t *testing.T) {
	src := t.TempDir()
	sums := putObjects(t, src, 300)
	share := slowfs.Mount(t, src, 2*time.Millisecond)
	floor := max(4, runtime.GOMAXPROCS(0)) + 1 // verify's workers, and its walk
	for _, c := range []struct {
		args     []string
		min, max int
	}{
		{nil, 12, 1 << 30},
		{[]string{"--folder-requests", "1"}, 1, floor},
	} {
		s := openWith(t, share.Dir, c.args...)
		share.ResetPeak()
		rep, err := evidence.Verify(context.Background(), evidence.ReadOnly(s), evidence.Sums(sums), evidence.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Referenced != len(sums) || rep.Stored != len(sums) {
			t.Fatalf("%v: report %+v, want %d objects referenced and stored, all intact", c.args, rep, len(sums))
		}
		if p := share.Peak(); p < c.min || p > c.max {
			t.Errorf("%v: the share held %d requests at once, want %d to %d", c.args, p, c.min, c.max)
		}
	}
}

// BenchmarkShare: verify of 1,000 objects and PutBatch of 200 on a model
// share whose every lookup, open and read takes 500 µs (slowfs), with
// the figure a local disk gets (--folder-requests 1) against the share's
// (auto), side by side.
//
//	go test ./internal/evidence/folder -run '^$' -bench Share -benchtime 3x
func BenchmarkShare(b *testing.B) {
	src := b.TempDir()
	sums := putObjects(b, src, 1000)
	share := slowfs.Mount(b, src, 500*time.Microsecond)
	for _, requests := range []string{"1", "auto"} {
		b.Run("verify/requests="+requests, func(b *testing.B) {
			s := openWith(b, share.Dir, "--folder-requests", requests)
			for b.Loop() {
				rep, err := evidence.Verify(context.Background(), evidence.ReadOnly(s), evidence.Sums(sums), evidence.VerifyOptions{})
				if err != nil || !rep.OK() {
					b.Fatal(rep, err)
				}
			}
			b.ReportMetric(float64(len(sums)*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
		b.Run("put/requests="+requests, func(b *testing.B) {
			s := openWith(b, share.Dir, "--folder-requests", requests)
			batcher := s.(evidence.Batcher)
			round := 0
			for b.Loop() {
				data := make([][]byte, 200)
				for i := range data {
					data[i] = fmt.Appendf(nil, `{"put":%q,"round":%d,"i":%d}`, requests, round, i)
				}
				round++
				if _, err := batcher.PutBatch(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(200*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
