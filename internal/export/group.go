package export

import (
	"context"
	"sync"

	"github.com/custodyhq/custody/internal/evidence"
)

// grouper stores the evidence of the conversations that are ready at the
// same moment in one evidence.PutAll (group commit): while one batch is
// being made durable, the workers that finish reading meanwhile queue,
// and the next batch takes them all. Objects of several conversations
// then share the directory fsyncs of the shards they land in, and their
// file fsyncs are issued side by side. Each caller returns only when its
// own objects are durable, so the evidence-first rule is unchanged.
//
// No goroutine of its own: the first caller to find it idle leads (runs
// the PutAll); when it is done it hands the lead to the first caller that
// queued meanwhile, so nobody leads for long.
type grouper struct {
	mu      sync.Mutex
	busy    bool        // a leader is storing a batch
	pending []*groupReq // queued for the next batch
}

type groupReq struct {
	data [][]byte
	refs []evidence.Ref
	err  error
	lead bool          // set before done is closed: this caller stores the next batch
	done chan struct{} // closed when stored (or failed), or to hand it the lead
}

// putAll stores data with whatever else is queued and returns refs[i]
// for data[i] once all of it is durable.
func (g *grouper) putAll(ctx context.Context, s evidence.Store, data [][]byte) ([]evidence.Ref, error) {
	req := &groupReq{data: data, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.busy {
		g.mu.Unlock()
		// The leader's PutAll ends on its own (or the run's context,
		// shared by every worker), so this wait is bounded.
		<-req.done
		if !req.lead {
			return req.refs, req.err
		}
		g.mu.Lock()
	}
	g.busy = true
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()

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

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		next.lead = true
		close(next.done)
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	for _, b := range batch {
		if b != req {
			close(b.done)
		}
	}
	return req.refs, req.err
}
