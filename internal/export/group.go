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
	// run does a batch's whole work, for every value in it: only the
	// leader's call runs, on everyone's values, so the queue takes it
	// once, here, rather than from each caller (a caller's own run could
	// be skipped when another led its batch).
	run func(ctx context.Context, batch []T, handOff func())

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
// it, by this caller or another, with the leader's ctx; run reports
// results through the values. run may call handOff to give the lead to
// the next batch before it returns (storeCommitBatch does once its batch
// is durable and only its commits remain), so that the two overlap; else
// it is handed on when run returns.
func (q *leadQueue[T]) do(ctx context.Context, v T) {
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
	q.run(ctx, vs, handOff)
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
type grouper struct {
	store   evidence.Store
	commits *committer // commits the requests that carry one, once stored
	q       leadQueue[*groupReq]
}

func newGrouper(s evidence.Store, c *committer) *grouper {
	g := &grouper{store: s, commits: c}
	g.q.run = g.storeCommitBatch
	return g
}

type groupReq struct {
	data [][]byte
	refs []evidence.Ref
	err  error // storing the batch failed
	// commit, when set, runs once the batch is durable, in one
	// transaction with the batch's other commits (putAllCommit).
	commit *commitReq
}

// putAll stores data with whatever else is queued and returns refs[i]
// for data[i] once all of it is durable.
func (g *grouper) putAll(ctx context.Context, data [][]byte) ([]evidence.Ref, error) {
	req := &groupReq{data: data}
	g.q.do(ctx, req)
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
// other commits in one transaction (through the committer, so it also
// joins whatever commits are queued there). It returns when both are
// done: req.err says whether storing failed (then nothing was
// committed), req.commit.err whether the transaction did. The next batch
// is stored meanwhile.
func (g *grouper) putAllCommit(ctx context.Context, req *groupReq) {
	g.q.do(ctx, req)
}

// storeCommitBatch is the run of every batch, whoever leads it: it
// stores the batch and then runs the commits of its requests that carry
// one. A batch led by a putAll can hold a putAllCommit's request (a
// conversation flushing its media early leads while another finishes):
// that commit must run all the same, not be dropped with a nil error.
func (g *grouper) storeCommitBatch(ctx context.Context, batch []*groupReq, handOff func()) {
	err := storeBatch(ctx, g.store, batch)
	// The next batch is stored while this one commits.
	handOff()
	if err != nil {
		return
	}
	var parts []*commitReq
	for _, b := range batch {
		if b.commit != nil {
			parts = append(parts, b.commit)
		}
	}
	if len(parts) > 0 {
		g.commits.run(ctx, parts)
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
type committer struct {
	l *ledger.Ledger
	q leadQueue[[]*commitReq]
}

func newCommitter(l *ledger.Ledger) *committer {
	c := &committer{l: l}
	c.q.run = c.commitBatch
	return c
}

type commitReq struct {
	// ids are the messages whose latest captures fn needs (latestFn).
	ids      []string
	fn       func(tx *ledger.Tx) error
	latestFn func(tx *ledger.Tx, latest map[ledger.Capture]leaf.Entry) error
	err      error
}

// run commits parts, in order, in one transaction with whatever else is
// queued, and sets each part's err.
func (c *committer) run(ctx context.Context, parts []*commitReq) {
	c.q.do(ctx, parts)
}

// commitBatch runs every queued part in one transaction. A part that
// needs the latest captures of its ids (latestFn) is answered from one
// query for the whole batch (a query costs about as much for 16 ids as
// for 256) when no id is in two parts: a part's appends then cannot
// change what another part was told. When an id is in two parts, each
// part asks for its own, in turn.
func (c *committer) commitBatch(ctx context.Context, queued [][]*commitReq, _ func()) {
	var batch []*commitReq
	for _, q := range queued {
		batch = append(batch, q...)
	}
	err := c.l.Update(ctx, func(tx *ledger.Tx) error {
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
}

// sharedLatest reads the latest captures of the ids of every part of
// batch in one go, or returns nil when fewer than two parts need them or
// an id is in two parts (each part then reads its own). The answer holds
// every part's ids; each part looks up only its own.
func sharedLatest(tx *ledger.Tx, batch []*commitReq) (map[ledger.Capture]leaf.Entry, error) {
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
		latest = map[ledger.Capture]leaf.Entry{}
	}
	return latest, nil
}
