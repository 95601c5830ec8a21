package export

import (
	"context"
	"sync"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// leadQueue runs the work of callers that arrive at the same moment as
// one batch (group commit): while one batch runs, the callers that
// arrive meanwhile queue, and the next batch takes them all. Each caller
// returns only when the batch holding its work has run.
//
// No goroutine of its own: the first caller to find it idle leads (runs
// the batch); when it is done it hands the lead to the first caller that
// queued meanwhile, so nobody leads for long.
type leadQueue[T any] struct {
	mu      sync.Mutex
	busy    bool         // a leader is running a batch
	pending []*queued[T] // queued for the next batch
}

type queued[T any] struct {
	v    T
	lead bool          // set before done is closed: this caller runs the next batch
	done chan struct{} // closed when its batch has run, or to hand it the lead
}

// do queues v and returns once run has been called on a batch holding
// it, by this caller or another; run reports results through the values.
// run may call handOff to give the lead to the next batch before it
// returns (putAllCommit does once its batch is durable and only its
// commit remains), so that the two overlap; else it is handed on when
// run returns.
//
// Only the leader's run is called, on every caller's value: every caller
// of one queue must pass a run that does each value's whole work
// (grouper's callers both pass storeCommitBatch; a putAll once passed a
// run that stored without committing, and a commit queued behind it was
// dropped).
func (q *leadQueue[T]) do(v T, run func(batch []T, handOff func())) {
	me := &queued[T]{v: v, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, me)
	if q.busy {
		q.mu.Unlock()
		// The leader's batch ends on its own (or the run's context,
		// shared by every worker), so this wait is bounded.
		<-me.done
		if !me.lead {
			return
		}
		q.mu.Lock()
	}
	q.busy = true
	batch := q.pending
	q.pending = nil
	q.mu.Unlock()

	vs := make([]T, len(batch))
	for i, b := range batch {
		vs[i] = b.v
	}
	handed := false
	handOff := func() {
		if handed {
			return
		}
		handed = true
		q.mu.Lock()
		if len(q.pending) > 0 {
			next := q.pending[0]
			next.lead = true
			close(next.done)
		} else {
			q.busy = false
		}
		q.mu.Unlock()
	}
	run(vs, handOff)
	handOff()
	for _, b := range batch {
		if b != me {
			close(b.done)
		}
	}
}

// grouper stores the evidence of the conversations that are ready at the
// same moment in one evidence.PutAll: objects of several conversations
// then share the syncs of one batch (on a folder on Linux, two syncfs for
// the whole batch). Each caller returns only when its own objects are
// durable, so the evidence-first rule is unchanged.
type grouper struct{ q leadQueue[*groupReq] }

type groupReq struct {
	data [][]byte
	refs []evidence.Ref
	err  error // storing the batch failed
	// commit, when set, runs once the batch is durable, in one
	// transaction with the batch's other commits (putAllCommit), through
	// committer on ledger.
	commit    *commitReq
	committer *committer
	ledger    *ledger.Ledger
}

// putAll stores data with whatever else is queued and returns refs[i]
// for data[i] once all of it is durable.
func (g *grouper) putAll(ctx context.Context, s evidence.Store, data [][]byte) ([]evidence.Ref, error) {
	req := &groupReq{data: data}
	g.q.do(req, func(batch []*groupReq, handOff func()) { storeCommitBatch(ctx, s, batch, handOff) })
	return req.refs, req.err
}

// storeBatch stores the data of every request of batch in one
// evidence.PutAll and gives each its refs, or the batch's error.
func storeBatch(ctx context.Context, s evidence.Store, batch []*groupReq) error {
	var all [][]byte
	for _, b := range batch {
		all = append(all, b.data...)
	}
	refs, err := evidence.PutAll(ctx, s, all)
	off := 0
	for _, b := range batch {
		b.refs, b.err = nil, err
		if err == nil {
			b.refs = refs[off : off+len(b.data) : off+len(b.data)]
		}
		off += len(b.data)
	}
	return err
}

// putAllCommit stores req.data with whatever else is queued, as putAll,
// and once all of the batch is durable runs req.commit with the batch's
// other commits in one transaction (through c, so it also joins whatever
// commits are queued there). It returns when both are done: req.err says
// whether storing failed (then nothing was committed), req.commit.err
// whether the transaction did. The next batch is stored meanwhile.
func (g *grouper) putAllCommit(ctx context.Context, s evidence.Store, c *committer, l *ledger.Ledger, req *groupReq) {
	req.committer, req.ledger = c, l
	g.q.do(req, func(batch []*groupReq, handOff func()) { storeCommitBatch(ctx, s, batch, handOff) })
}

// storeCommitBatch is the run of every batch, whoever leads it: it
// stores the batch and then runs the commits of its requests that carry
// one. A batch led by a putAll can hold a putAllCommit's request (a
// conversation flushing its media early leads while another finishes):
// that commit must run all the same, not be dropped with a nil error.
func storeCommitBatch(ctx context.Context, s evidence.Store, batch []*groupReq, handOff func()) {
	err := storeBatch(ctx, s, batch)
	// The next batch is stored while this one commits.
	handOff()
	if err != nil {
		return
	}
	type target struct {
		c *committer
		l *ledger.Ledger
	}
	var order []target
	parts := map[target][]*commitReq{}
	for _, b := range batch {
		if b.commit == nil {
			continue
		}
		k := target{b.committer, b.ledger}
		if _, ok := parts[k]; !ok {
			order = append(order, k)
		}
		parts[k] = append(parts[k], b.commit)
	}
	for _, k := range order {
		k.c.run(ctx, k.l, parts[k])
	}
}

// committer commits the ledger transactions of the conversations that
// are ready at the same moment as one transaction: one commit (one WAL
// fsync) for the batch instead of one per conversation. Each
// conversation's entries and run item are still written together, so a
// crash leaves all of a conversation or none of it; a batch is all or
// nothing, so an error in one conversation's part fails the batch, and
// every caller in it gets that error (export stops on a commit error: the
// others stay pending and are captured again by the next run, once).
type committer struct{ q leadQueue[[]*commitReq] }

type commitReq struct {
	// ids are the messages whose latest captures fn needs (latestFn).
	ids      []string
	fn       func(tx *ledger.Tx) error
	latestFn func(tx *ledger.Tx, latest map[string]leaf.Entry) error
	err      error
}

// update runs fn in a transaction shared with whatever else is queued
// and returns once that transaction committed (nil) or failed.
func (c *committer) update(ctx context.Context, l *ledger.Ledger, fn func(tx *ledger.Tx) error) error {
	req := &commitReq{fn: fn}
	c.run(ctx, l, []*commitReq{req})
	return req.err
}

// updateLatest is update for a part that needs the latest captures of
// ids (ledger.Tx.LatestCaptures), read in the same transaction. The
// batch asks for the ids of all its parts in one query (a query costs
// about as much for 16 ids as for 256) when no id is in two parts: a
// part's appends then cannot change what another part was told. When
// an id is in two parts, each part asks for its own, in turn, as before.
func (c *committer) updateLatest(ctx context.Context, l *ledger.Ledger, ids []string, fn func(tx *ledger.Tx, latest map[string]leaf.Entry) error) error {
	req := &commitReq{ids: ids, latestFn: fn}
	c.run(ctx, l, []*commitReq{req})
	return req.err
}

// run commits parts, in order, in one transaction with whatever else is
// queued, and sets each part's err.
func (c *committer) run(ctx context.Context, l *ledger.Ledger, parts []*commitReq) {
	c.q.do(parts, func(queued [][]*commitReq, _ func()) {
		var batch []*commitReq
		for _, q := range queued {
			batch = append(batch, q...)
		}
		err := l.Update(ctx, func(tx *ledger.Tx) error {
			shared, err := sharedLatest(tx, batch)
			if err != nil {
				return err
			}
			for _, b := range batch {
				if b.latestFn == nil {
					if err := b.fn(tx); err != nil {
						return err
					}
					continue
				}
				latest := shared
				if latest == nil {
					if latest, err = tx.LatestCaptures(b.ids); err != nil {
						return err
					}
				}
				if err := b.latestFn(tx, latest); err != nil {
					return err
				}
			}
			return nil
		})
		for _, b := range batch {
			b.err = err
		}
	})
}

// sharedLatest reads the latest captures of the ids of every part of
// batch in one go, or returns nil when fewer than two parts need them or
// an id is in two parts (each part then reads its own). The answer holds
// every part's ids; each part looks up only its own.
func sharedLatest(tx *ledger.Tx, batch []*commitReq) (map[string]leaf.Entry, error) {
	parts, n := 0, 0
	for _, b := range batch {
		if b.latestFn != nil {
			parts++
			n += len(b.ids)
		}
	}
	if parts < 2 {
		return nil, nil
	}
	owner := make(map[string]*commitReq, n)
	ids := make([]string, 0, n)
	for _, b := range batch {
		if b.latestFn == nil {
			continue
		}
		for _, id := range b.ids {
			switch o, ok := owner[id]; {
			case !ok:
				owner[id] = b
				ids = append(ids, id)
			case o != b:
				return nil, nil
			}
		}
	}
	latest, err := tx.LatestCaptures(ids)
	if err != nil {
		return nil, err
	}
	if latest == nil {
		latest = map[string]leaf.Entry{}
	}
	return latest, nil
}
