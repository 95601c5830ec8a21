package ledger

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
)

// fileSize is the size of the file at path, 0 if there is none.
func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitFor polls cond for up to ten seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBackgroundCheckpoint: once enough entries are committed, the
// background checkpointer copies them into the database file while the
// ledger stays open, and appends, reads and verify go on as before.
func TestBackgroundCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.l.ckptEvery = 20
	before := fileSize(t, f.path)
	f.appendN(10) // below ckptEvery: no checkpoint asked for
	if n := f.l.ckpt.checkpointRuns(); n != 0 {
		t.Errorf("%d checkpoints after 10 entries", n)
	}
	for i := range 5 {
		batch := make([]leaf.Entry, 10)
		for j := range batch {
			batch[j] = message(fmt.Sprintf("conv-%d", i), j)
		}
		if _, err := f.l.Append(f.ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a background checkpoint", func() bool { return f.l.ckpt.checkpointRuns() >= 1 })
	// The entries reached the database file itself: the file grew by
	// more than the 60 leaves (~850 bytes each).
	waitFor(t, "the database file to grow", func() bool { return fileSize(t, f.path) >= before+60*800 })
	if h, err := f.l.Head(f.ctx); err != nil || h.Size != 60 {
		t.Fatalf("head %+v, %v", h, err)
	}
	if rep := f.verify(); !rep.OK || rep.Entries != 60 {
		t.Errorf("verify: %+v", rep)
	}
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}
	f.l = nil
	// Close copied the rest and removed the WAL, as before.
	if n := fileSize(t, f.path+"-wal"); n != 0 {
		t.Errorf("WAL of %d bytes left after Close", n)
	}
	f.reopen()
	if h, err := f.l.Head(f.ctx); err != nil || h.Size != 60 {
		t.Fatalf("after reopen: head %+v, %v", h, err)
	}
}

// appendBatch appends n message entries of a conversation of its own.
func (f *fixture) appendBatch(i, n int) {
	f.t.Helper()
	batch := make([]leaf.Entry, n)
	for j := range batch {
		batch[j] = message(fmt.Sprintf("conv-batch-%d", i), j)
	}
	if _, err := f.l.Append(f.ctx, batch...); err != nil {
		f.t.Fatal(err)
	}
}

// pageSize is the ledger's page size.
func (f *fixture) pageSize() int64 {
	f.t.Helper()
	var n int64
	if err := f.l.rdb.QueryRowContext(f.ctx, `PRAGMA page_size`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// walPages is how many frames the ledger's WAL file has room for.
func (f *fixture) walPages() int64 {
	return max(0, fileSize(f.t, f.path+"-wal")-32) / (f.pageSize() + 24)
}

// TestWALStaysBounded: the WAL stays bounded whether the background
// checkpointer keeps up, is never asked, or reports the WAL past the
// ceiling.
func TestWALStaysBounded(t *testing.T) {
	const ceiling = 64 // pages; a commit of 25 entries is ~4 (16 KiB pages)
	newLedger := func(t *testing.T, every uint64) *fixture {
		f := newFixture(t)
		f.l.ckptEvery = every
		f.l.ckpt.ceiling = ceiling
		if _, err := f.l.wdb.Exec(fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, 2*ceiling)); err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Run("background keeps up", func(t *testing.T) {
		// Every commit asks for a checkpoint, and each is done before the
		// next commit: every transaction finds the WAL copied and starts
		// it over, so the file never grows past the schema's pages and
		// the first commit after them.
		f := newLedger(t, 1)
		created := f.walPages() // the schema's pages
		for i := range 40 {
			f.appendBatch(i, 25)
			waitFor(t, "the background checkpoint", func() bool { return f.l.ckpt.checkpointRuns() == i+1 })
		}
		if n := f.walPages(); n > created+8 {
			t.Errorf("WAL grew to %d pages (%d after creation)", n, created)
		}
	})
	t.Run("never asked", func(t *testing.T) {
		// SQLite's own checkpoint, at twice the ceiling, is the safety net.
		f := newLedger(t, 1<<62)
		for i := range 40 {
			f.appendBatch(i, 25)
		}
		if n := f.walPages(); n > 2*ceiling+10 {
			t.Errorf("WAL grew to %d pages", n)
		}
		if n := f.l.ckpt.checkpointRuns(); n != 0 {
			t.Errorf("%d background checkpoints, none asked for", n)
		}
	})
	t.Run("reported past the ceiling", func(t *testing.T) {
		// A background run that found the WAL past the ceiling makes the
		// writer copy the rest after its next commit, and the WAL starts
		// over: the commits after that overwrite it from the start.
		f := newLedger(t, 1<<62)
		for i := range 4 {
			f.appendBatch(i, 25)
		}
		size := fileSize(t, f.path+"-wal")
		f.l.ckpt.mu.Lock()
		f.l.ckpt.walPages = ceiling
		f.l.ckpt.mu.Unlock()
		f.appendBatch(4, 25) // checkpoints after its commit
		f.l.ckpt.mu.Lock()
		if f.l.ckpt.walPages != 0 {
			t.Errorf("the report of %d pages is still pending", f.l.ckpt.walPages)
		}
		f.l.ckpt.mu.Unlock()
		grown := fileSize(t, f.path+"-wal")
		if grown <= size {
			t.Fatalf("WAL did not grow by a commit: %d -> %d bytes", size, grown)
		}
		for i := 5; i < 7; i++ {
			f.appendBatch(i, 25)
		}
		if after := fileSize(t, f.path+"-wal"); after != grown {
			t.Errorf("WAL file %d -> %d bytes: it did not start over", grown, after)
		}
	})
}

// TestCloseStopsCheckpointer: Close waits for the checkpointer's
// goroutine, and a second Close is harmless.
func TestCloseStopsCheckpointer(t *testing.T) {
	f := newFixture(t)
	f.l.ckptEvery = 1
	f.appendN(5)
	c := f.l.ckpt
	if err := f.l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	default:
		t.Error("the checkpointer still runs after Close")
	}
	if err := f.l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	f.l = nil
}

// TestPageSizes: new ledgers get 16 KiB pages; a ledger with 4 KiB pages
// (all made before) opens, appends and verifies as before, and both bound
// their WAL at the same number of bytes.
func TestPageSizes(t *testing.T) {
	f := newFixture(t)
	if ps := f.pageSize(); ps != pageSize {
		t.Errorf("new ledger: page size %d, want %d", ps, pageSize)
	}
	if got, want := f.l.ckpt.ceiling*pageSize, walCeiling; got != want {
		t.Errorf("new ledger: WAL ceiling %d bytes, want %d", got, want)
	}
	f.appendN(30)
	f.raw(`PRAGMA journal_mode = DELETE`, `PRAGMA page_size = 4096`, `VACUUM`, `PRAGMA journal_mode = WAL`)
	f.reopen()
	if ps := f.pageSize(); ps != 4096 {
		t.Fatalf("after VACUUM: page size %d, want 4096", ps)
	}
	if got, want := f.l.ckpt.ceiling*4096, walCeiling; got != want {
		t.Errorf("4 KiB pages: WAL ceiling %d bytes, want %d", got, want)
	}
	for i := range 3 {
		f.appendBatch(i, 40)
	}
	if rep := f.verify(); !rep.OK || rep.Entries != 150 {
		t.Errorf("verify: %+v", rep)
	}
}

// TestWaitIdle: waitIdle returns only after every background checkpoint
// asked for has run (BenchmarkAppendVsInsert relies on it to charge
// appends with their checkpoints), and at once when none is pending.
func TestWaitIdle(t *testing.T) {
	f := newFixture(t)
	f.l.ckpt.waitIdle() // nothing asked for: returns
	f.l.ckptEvery = 10
	for i := range 5 {
		f.appendN(10)
		f.l.ckpt.waitIdle()
		// Each append crossed ckptEvery and asked for one run; requests
		// that came while one was queued joined it, so at least one run
		// per wait, and never fewer runs than waits.
		if n := f.l.ckpt.checkpointRuns(); n < i+1 {
			t.Fatalf("after %d appends and waits: %d background checkpoints", i+1, n)
		}
	}
}
