package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// walCkptEntries is how many appended entries (about 1.5 KiB of WAL each,
// leaf and index pages together) commits let through before the
// background checkpointer is asked to copy the WAL into the database file.
// Fewer runs copy the index pages that many commits rewrite fewer times;
// 8,192 and 16,384 were the fastest of 1,024 – 32,768 in BenchmarkAppend
// at 200,000 entries, 16,384 by a little at 1,000,000 (docs/benchmarks.md).
const walCkptEntries = 16384

// walCeiling bounds the WAL, in bytes. SQLite starts the WAL over from
// its beginning only when a write transaction begins with every frame
// already copied into the database, which a background checkpoint racing
// a busy writer seldom achieves. So once a background run reports the WAL
// past this size, the writer copies the little that is left itself
// right after its next commit, and the WAL restarts with the transaction
// after that. The WAL thus stays near 64 MiB however long appends go on.
const walCeiling = 64 << 20

// walCeilingPages is walCeiling in pages of pageSize bytes.
func walCeilingPages(pageSize int) int { return walCeiling / max(pageSize, 512) }

// walCheckpointer copies the WAL into the database file on its own
// connection and goroutine, so the page copies and the database file's
// fsync overlap the next appends instead of sitting inside a commit.
// Nothing about durability changes: a commit is durable once its WAL
// frames are synced (synchronous=FULL), before any checkpoint.
type walCheckpointer struct {
	db   *sql.DB
	kick chan struct{} // capacity 1: requests coalesce
	done chan struct{} // closed when the goroutine has stopped
	once sync.Once     // stop runs once: Close may be called again

	run     sync.Mutex     // held while a checkpoint runs, the background's or the writer's
	pending sync.WaitGroup // requests taken but not yet run (waitIdle)
	ceiling int            // walCeiling in pages; tests make it small

	mu       sync.Mutex
	walPages int   // WAL size as the last checkpoint found it
	runs     int   // background checkpoints run; tests read it
	err      error // first failure, reported by Close
}

// startWALCheckpointer opens the checkpointer's connection to path and
// starts its goroutine.
func startWALCheckpointer(ctx context.Context, path string) (*walCheckpointer, error) {
	db, err := sql.Open(driverName, dsn(path, "deferred"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	var pageSize int
	if err := db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		db.Close()
		return nil, classify(err)
	}
	c := &walCheckpointer{db: db, kick: make(chan struct{}, 1), done: make(chan struct{}), ceiling: walCeilingPages(pageSize)}
	go c.loop()
	return c, nil
}

// request asks for a background checkpoint without waiting for it: if
// one is already asked for, this one joins it.
func (c *walCheckpointer) request() {
	c.pending.Add(1)
	select {
	case c.kick <- struct{}{}:
	default:
		c.pending.Done()
	}
}

func (c *walCheckpointer) loop() {
	defer close(c.done)
	for range c.kick {
		pages, err := c.checkpoint(c.db)
		c.mu.Lock()
		c.runs++
		c.pending.Done()
		switch {
		case err != nil:
			if c.err == nil {
				c.err = fmt.Errorf("ledger: background checkpoint: %w", err)
			}
		case pages >= 0: // -1: another checkpoint (SQLite's own) was running
			c.walPages = pages
		}
		c.mu.Unlock()
	}
}

// checkpoint runs a PASSIVE checkpoint on db, which copies what no
// reader still needs and never waits for the writer or readers, and
// returns how many pages the WAL held, or -1 if another connection's
// checkpoint was running.
func (c *walCheckpointer) checkpoint(db *sql.DB) (int, error) {
	c.run.Lock()
	defer c.run.Unlock()
	var busy, walPages, copied int
	if err := db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &walPages, &copied); err != nil {
		return 0, classify(err)
	}
	if busy != 0 {
		return -1, nil
	}
	return walPages, nil
}

// afterCommit is called by the writer after each commit with the writer's
// own pool (l.mu held). If the last background checkpoint found the WAL
// past the ceiling, it copies the rest now, waiting for a background run
// in progress rather than colliding with it; the next write transaction
// then starts the WAL over. It never fails the commit, which is done.
func (c *walCheckpointer) afterCommit(wdb *sql.DB) {
	c.mu.Lock()
	over := c.walPages >= c.ceiling
	c.mu.Unlock()
	if !over {
		return
	}
	pages, err := c.checkpoint(wdb)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		if c.err == nil {
			c.err = fmt.Errorf("ledger: checkpoint: %w", err)
		}
		c.walPages = 0 // not again after every commit; the next background run reports
	case pages >= 0:
		// Once per report, even when a reader kept part of the WAL from
		// being copied: the next background run reports again.
		c.walPages = 0
	}
}

// stop waits for a running checkpoint to finish, ends the goroutine and
// closes the connection. It returns the first checkpoint failure, if any:
// none loses data (the WAL keeps every commit), but it means the database
// file could not be written.
func (c *walCheckpointer) stop() error {
	var err error
	c.once.Do(func() {
		close(c.kick)
		<-c.done
		err = c.db.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil {
			err = c.err
		}
	})
	return err
}

// waitIdle waits until every background checkpoint asked for so far has
// run. Benchmarks use it to charge an append with the work it set off;
// it must not be called at the same time as request.
func (c *walCheckpointer) waitIdle() { c.pending.Wait() }

// checkpointRuns reports how many background checkpoints have run.
func (c *walCheckpointer) checkpointRuns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}
