package export

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// stageLimit is how many bytes of staged evidence (attachments, mostly) a
// conversation holds in memory before it stores them early: the bodies
// are already in memory, this only bounds how many accumulate.
const stageLimit = 32 << 20

// staged collects one conversation's evidence objects (its body, bulk
// bodies, single messages, attachments, openings) so that they are made
// durable together through evidence.PutAll — on a folder, one fsync per
// file issued side by side and one per directory, instead of a file and
// a directory fsync per object one after another. The evidence-first
// rule still holds: the conversation's entries are committed only after
// the last flush, so every object an entry names is durable first.
type staged struct {
	data  [][]byte       // object i's bytes until it is stored (then nil)
	refs  []evidence.Ref // refs[i] once object i is stored
	bytes int64          // bytes staged and not yet stored
}

// add stages body and returns its index, which sum resolves after the
// flush that stores it.
func (s *staged) add(body []byte) int {
	s.data = append(s.data, body)
	s.bytes += int64(len(body))
	return len(s.data) - 1
}

// sum is the address of object i; only valid once it is stored.
func (s *staged) sum(i int) hashchain.Hash { return s.refs[i].Sum }

// flush stores every staged object and returns when all are durable.
func (r *runner) flush(ctx context.Context, s *staged) error {
	n := len(s.refs)
	if n == len(s.data) {
		return nil
	}
	refs, err := r.group.putAll(ctx, r.d.Evidence, s.data[n:])
	if err != nil {
		return &fatal{fmt.Errorf("export: evidence: %w", err)}
	}
	if len(refs) != len(s.data)-n {
		return &fatal{fmt.Errorf("export: evidence: stored %d objects, want %d", len(refs), len(s.data)-n)}
	}
	s.refs = append(s.refs, refs...)
	clear(s.data[n:])
	s.bytes = 0
	return nil
}

// flushOver stores the staged objects early when they hold more than
// stageLimit bytes.
func (r *runner) flushOver(ctx context.Context, s *staged) error {
	if s.bytes < stageLimit {
		return nil
	}
	return r.flush(ctx, s)
}

// put stores one object on its own (a listing page, the audit index),
// durable when it returns.
func (r *runner) put(ctx context.Context, body []byte) (evidence.Ref, error) {
	ref, err := r.d.Evidence.Put(ctx, body)
	if err != nil {
		return ref, &fatal{fmt.Errorf("export: evidence: %w", err)}
	}
	return ref, nil
}
