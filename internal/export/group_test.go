package export

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestGrouperConcurrent: callers storing at the same time each get the
// refs of their own objects, in order, and every object is stored.
func TestGrouperConcurrent(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	g := newGrouper(s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := range 32 {
		wg.Go(func() {
			for round := range 5 {
				var data [][]byte
				for k := range 1 + (w+round)%4 {
					data = append(data, fmt.Appendf(nil, "w%d r%d k%d", w, round, k))
				}
				data = append(data, []byte("shared by everyone"))
				refs, err := g.putAll(ctx, data)
				if err != nil {
					errs <- err
					return
				}
				if len(refs) != len(data) {
					errs <- fmt.Errorf("worker %d: %d refs for %d objects", w, len(refs), len(data))
					return
				}
				for i, d := range data {
					if want := hashchain.Hash(sha256.Sum256(d)); refs[i].Sum != want {
						errs <- fmt.Errorf("worker %d: ref %d is %s, want %s", w, i, refs[i].Sum, want)
						return
					}
					if ok, err := s.Exists(ctx, refs[i].Sum); err != nil || !ok {
						errs <- fmt.Errorf("worker %d: object %d not stored (%v)", w, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// An error reaches the caller whose batch failed, and the grouper
	// is usable afterwards.
	if _, err := g.putAll(ctx, [][]byte{make([]byte, 65)}); !errors.Is(err, evidence.ErrTooLarge) {
		t.Fatalf("too large: got %v, want ErrTooLarge", err)
	}
	if refs, err := g.putAll(ctx, [][]byte{[]byte("after")}); err != nil || len(refs) != 1 {
		t.Fatalf("after an error: %v %v", refs, err)
	}
}

// TestCommitterConcurrent: transactions queued at the same time commit
// together, each caller's writes are there once it returns, a failing
// part fails its whole batch (nothing of it is written) and reaches every
// caller in it, and the committer is usable afterwards.
func TestCommitterConcurrent(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "l.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := newCommitter(l)
	var wg sync.WaitGroup
	var txs atomic.Int64
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for round := range 5 {
				key := fmt.Sprintf("w%d-r%d", w, round)
				err := c.update(ctx, func(tx *ledger.Tx) error {
					txs.Add(1)
					return tx.SetState(key, "done")
				})
				if err != nil {
					errs <- err
					return
				}
				if v, ok, err := l.State(ctx, key); err != nil || !ok || v != "done" {
					errs <- fmt.Errorf("%s after update: %q %v %v", key, v, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d transactions' parts run (80 callers)", txs.Load())

	// A batch with a failing part: hold the lead with a slow first
	// batch so that the next two queue together.
	boom := errors.New("boom")
	release := make(chan struct{})
	started := make(chan struct{})
	go c.update(ctx, func(tx *ledger.Tx) error { close(started); <-release; return nil })
	<-started
	results := make(chan error, 2)
	go func() {
		results <- c.update(ctx, func(tx *ledger.Tx) error { return tx.SetState("good", "1") })
	}()
	go func() { results <- c.update(ctx, func(tx *ledger.Tx) error { return boom }) }()
	waitQueued(t, &c.q, 2)
	close(release)
	for range 2 {
		if err := <-results; !errors.Is(err, boom) {
			t.Errorf("a part of the failed batch got %v, want boom", err)
		}
	}
	if _, ok, err := l.State(ctx, "good"); err != nil || ok {
		t.Errorf("the failed batch's other part was committed (%v, %v)", ok, err)
	}
	if err := c.update(ctx, func(tx *ledger.Tx) error { return tx.SetState("after", "1") }); err != nil {
		t.Fatalf("after a failed batch: %v", err)
	}
}

// TestCommitterSharedLatest: parts of one batch that ask for the latest
// captures of disjoint messages are answered by one read in the
// transaction; a part whose message is also another part's reads its
// own, after the earlier part's appends, so it sees them.
func TestCommitterSharedLatest(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "l.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entry := func(id string, n byte) leaf.Entry {
		t.Helper()
		md := &genesys.MessageData{ID: id, Timestamp: "2024-03-01T10:00:00.000Z", Direction: "inbound", TextBody: "hi"}
		e, err := MessageEntry("m", "", "c1", false, nil, md, hashchain.Hash{n}, hashchain.Hash{n}, &leaf.Source{Method: "POST", Path: "/x", Status: 200}, nil, &derive.Seal{Opening: hashchain.Hash{n}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	c := newCommitter(l)
	// batch queues parts behind a slow lead so that they run as one
	// transaction, in order; it returns what each part was told of the
	// latest captures of its ids.
	batch := func(parts ...struct {
		ids    []string
		append *leaf.Entry
	}) []map[ledger.Capture]leaf.Entry {
		release, started := make(chan struct{}), make(chan struct{})
		go c.update(ctx, func(tx *ledger.Tx) error { close(started); <-release; return nil })
		<-started
		seen := make([]map[ledger.Capture]leaf.Entry, len(parts))
		var wg sync.WaitGroup
		for i, p := range parts {
			wg.Go(func() {
				err := c.updateLatest(ctx, p.ids, func(tx *ledger.Tx, latest map[ledger.Capture]leaf.Entry) error {
					seen[i] = latest
					if p.append != nil {
						_, err := tx.Append(*p.append)
						return err
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
			waitQueued(t, &c.q, i+1) // queued in this order
		}
		close(release)
		wg.Wait()
		return seen
	}
	type part = struct {
		ids    []string
		append *leaf.Entry
	}
	a1 := entry("a", 1)
	seen := batch(part{[]string{"a"}, &a1}, part{[]string{"a", "b"}, nil}, part{[]string{"c"}, nil})
	if _, ok := seen[0][ledger.Capture{ConversationID: "c1", MessageID: "a"}]; ok {
		t.Errorf("part 1 saw a capture of a before any")
	}
	if e, ok := seen[1][ledger.Capture{ConversationID: "c1", MessageID: "a"}]; !ok || e.PayloadSHA256 != (hashchain.Hash{1}) {
		t.Errorf("part 2 shares a with part 1 and did not see its append: %v %+v", ok, e)
	}
	if len(seen[2]) != 0 {
		t.Errorf("part 3 saw %v", seen[2])
	}
	// Disjoint parts: one shared read, each sees what was there before.
	c1, b2 := entry("c", 3), entry("b", 2)
	seen = batch(part{[]string{"c"}, &c1}, part{[]string{"a", "b"}, &b2})
	// (The shared answer holds every part's ids; a part reads its own.)
	if _, ok := seen[0][ledger.Capture{ConversationID: "c1", MessageID: "c"}]; ok {
		t.Errorf("part 1 saw a capture of c before any")
	}
	if _, ok := seen[1][ledger.Capture{ConversationID: "c1", MessageID: "b"}]; ok {
		t.Errorf("part 2 saw a capture of b before any")
	}
	if e, ok := seen[1][ledger.Capture{ConversationID: "c1", MessageID: "a"}]; !ok || e.PayloadSHA256 != (hashchain.Hash{1}) {
		t.Errorf("part 2 did not see a's capture: %v", ok)
	}
	got, err := l.LatestCaptures(ctx, []string{"a", "b", "c"})
	if err != nil || len(got) != 3 {
		t.Fatalf("after the batches: %v %v", got, err)
	}
}

// TestPutAllCommit: conversations storing and committing at the same
// time each get their own refs, their commit runs only once every object
// of theirs is stored, a batch that cannot be stored commits nothing, and
// a failing commit reaches its caller.
func TestPutAllCommit(t *testing.T) {
	ctx := context.Background()
	s, err := folder.Open(t.TempDir(), evidence.Options{MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "l.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g := newGrouper(s, newCommitter(l))
	var wg sync.WaitGroup
	var parts atomic.Int64
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for round := range 4 {
				var data [][]byte
				for k := range 1 + (w+round)%3 {
					data = append(data, fmt.Appendf(nil, "w%d r%d k%d", w, round, k))
				}
				key := fmt.Sprintf("w%d-r%d", w, round)
				req := &groupReq{data: data, commit: &commitReq{ids: []string{key}, latestFn: func(tx *ledger.Tx, _ map[ledger.Capture]leaf.Entry) error {
					parts.Add(1)
					for _, d := range data {
						if ok, err := s.Exists(ctx, hashchain.Hash(sha256.Sum256(d))); err != nil || !ok {
							return fmt.Errorf("%s: committing before its object %q is stored (%v)", key, d, err)
						}
					}
					return tx.SetState(key, "done")
				}}}
				g.putAllCommit(ctx, req)
				if req.err != nil || req.commit.err != nil {
					errs <- fmt.Errorf("%s: %v, %v", key, req.err, req.commit.err)
					return
				}
				for i, d := range data {
					if want := hashchain.Hash(sha256.Sum256(d)); len(req.refs) != len(data) || req.refs[i].Sum != want {
						errs <- fmt.Errorf("%s: refs %v", key, req.refs)
						return
					}
				}
				if v, ok, err := l.State(ctx, key); err != nil || !ok || v != "done" {
					errs <- fmt.Errorf("%s after commit: %q %v %v", key, v, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if parts.Load() != 64 {
		t.Errorf("%d commit parts run, want 64", parts.Load())
	}

	// Too large to store: an evidence error, and no commit.
	called := false
	req := &groupReq{data: [][]byte{make([]byte, 65)}, commit: &commitReq{latestFn: func(*ledger.Tx, map[ledger.Capture]leaf.Entry) error {
		called = true
		return nil
	}}}
	g.putAllCommit(ctx, req)
	if !errors.Is(req.err, evidence.ErrTooLarge) || called {
		t.Errorf("unstorable batch: err %v, commit run %v", req.err, called)
	}
	// A failing commit reaches its caller; the objects stay stored.
	boom := errors.New("boom")
	req = &groupReq{data: [][]byte{[]byte("kept")}, commit: &commitReq{latestFn: func(*ledger.Tx, map[ledger.Capture]leaf.Entry) error { return boom }}}
	g.putAllCommit(ctx, req)
	if req.err != nil || !errors.Is(req.commit.err, boom) {
		t.Errorf("failing commit: %v, %v", req.err, req.commit.err)
	}
}

// gateStore is a store whose Put of the object "gate" waits until open is
// closed (and says it started on started): a test holds a batch's leader
// inside its store call while others queue.
type gateStore struct {
	evidence.Store
	started chan struct{}
	open    chan struct{}
}

func (g *gateStore) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	if string(data) == "gate" {
		close(g.started)
		<-g.open
	}
	return g.Store.Put(ctx, data)
}

// TestPutAllCommitBehindPutAll: a conversation's storeAndCommit
// (putAllCommit) that lands in a batch led by another conversation's
// early flush (putAll, which staged media over stageLimit make) still
// has its commit run. It was skipped: the leader's run only stored, and
// the caller was told its entries were committed when nothing was.
func TestPutAllCommitBehindPutAll(t *testing.T) {
	ctx := context.Background()
	fs, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &gateStore{Store: fs, started: make(chan struct{}), open: make(chan struct{})}
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "l.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g := newGrouper(s, newCommitter(l))
	flushed := make(chan error, 1)
	go func() {
		// The leader: an early flush, held in its store call.
		_, err := g.putAll(ctx, [][]byte{[]byte("gate")})
		flushed <- err
	}()
	<-s.started
	// Another early flush queues first: it leads the next batch.
	flushed2 := make(chan error, 1)
	go func() {
		_, err := g.putAll(ctx, [][]byte{[]byte("second flush")})
		flushed2 <- err
	}()
	waitQueued(t, &g.q, 1)
	committed := false
	req := &groupReq{data: [][]byte{[]byte("conversation body")}, commit: &commitReq{ids: []string{"m1"},
		latestFn: func(tx *ledger.Tx, _ map[ledger.Capture]leaf.Entry) error {
			committed = true
			return tx.SetState("conv", "done")
		}}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.putAllCommit(ctx, req)
	}()
	// Let putAllCommit queue behind the second flush, in the batch it
	// will lead, then let the first flush go on.
	waitQueued(t, &g.q, 2)
	close(s.open)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := <-flushed2; err != nil {
		t.Fatal(err)
	}
	<-done
	if req.err != nil || req.commit.err != nil {
		t.Fatalf("putAllCommit: %v, %v", req.err, req.commit.err)
	}
	if v, ok, err := l.State(ctx, "conv"); !committed || err != nil || !ok || v != "done" {
		t.Fatalf("putAllCommit returned without error but its commit did not run (ran %v; state %q %v %v)", committed, v, ok, err)
	}
}

// waitQueued waits until n callers are queued on q.
func waitQueued[T any](t *testing.T, q *leadQueue[T], n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		q.mu.Lock()
		k := len(q.pending)
		q.mu.Unlock()
		if k >= n {
			return
		}
	}
	t.Fatalf("%d callers never queued", n)
}

// update runs fn in a transaction shared with whatever else is queued
// and returns once that transaction committed (nil) or failed.
func (c *committer) update(ctx context.Context, fn func(tx *ledger.Tx) error) error {
	req := &commitReq{fn: fn}
	c.run(ctx, []*commitReq{req})
	return req.err
}

// updateLatest is update for a part that needs the latest captures of
// ids, read in the same transaction (as storeAndCommit's parts).
func (c *committer) updateLatest(ctx context.Context, ids []string, fn func(tx *ledger.Tx, latest map[ledger.Capture]leaf.Entry) error) error {
	req := &commitReq{ids: ids, latestFn: fn}
	c.run(ctx, []*commitReq{req})
	return req.err
}
