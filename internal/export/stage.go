package export

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
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
	data  [][]byte         // object i's bytes until it is stored (then nil)
	sums  []hashchain.Hash // object i's address (SHA-256), from the start
	refs  []evidence.Ref   // refs[i] once object i is stored
	bytes int64            // bytes staged and not yet stored
}

// add stages body and returns its index.
func (s *staged) add(body []byte) int {
	return s.addSum(body, hashchain.Hash(sha256.Sum256(body)))
}

// addSum stages body, whose SHA-256 is sum, and returns its index.
func (s *staged) addSum(body []byte, sum hashchain.Hash) int {
	s.data = append(s.data, body)
	s.sums = append(s.sums, sum)
	s.bytes += int64(len(body))
	return len(s.data) - 1
}

// read holds a conversation's response bodies as read, with their
// addresses, until it is known which of them an entry will name: only
// those are staged (captureOne).
type read struct {
	data [][]byte
	sums []hashchain.Hash
}

// add keeps body and returns its index.
func (r *read) add(body []byte) int {
	r.data = append(r.data, body)
	r.sums = append(r.sums, hashchain.Hash(sha256.Sum256(body)))
	return len(r.data) - 1
}

// sum is the address object i will be stored at: known when it is
// staged, so that the entries naming it can be built before it is
// stored; they are committed only once it is durable (stored checks
// that the store filed it there).
func (s *staged) sum(i int) hashchain.Hash { return s.sums[i] }

// stored records refs of the objects from n on, as the store returned
// them, and releases their bytes.
func (s *staged) stored(n int, refs []evidence.Ref) error {
	if len(refs) != len(s.data)-n {
		return &fatal{fmt.Errorf("export: evidence: stored %d objects, want %d", len(refs), len(s.data)-n)}
	}
	for k, ref := range refs {
		if ref.Sum != s.sums[n+k] {
			return &fatal{fmt.Errorf("export: evidence: the store filed an object under %s, want %s", ref.Sum, s.sums[n+k])}
		}
	}
	s.refs = append(s.refs, refs...)
	clear(s.data[n:])
	s.bytes = 0
	return nil
}

// flush stores every staged object and returns when all are durable.
func (r *runner) flush(ctx context.Context, s *staged) error {
	n := len(s.refs)
	if n == len(s.data) {
		return nil
	}
	refs, err := r.group.putAll(ctx, s.data[n:])
	if err != nil {
		return &fatal{fmt.Errorf("export: evidence: %w", err)}
	}
	return s.stored(n, refs)
}

// storeAndCommit stores every staged object not stored yet and then runs
// fn in a ledger transaction (as a committer part with latestFn, given the
// latest captures of ids), both with whatever other conversations are queued:
// the evidence batch's leader commits the batch's conversations in one
// transaction once all of its objects are durable. Every object an entry
// names is durable before the commit, as with flush then commit.
func (r *runner) storeAndCommit(ctx context.Context, s *staged, ids []string, fn func(tx *ledger.Tx, latest map[ledger.Capture]leaf.Entry) error) error {
	n := len(s.refs)
	req := &groupReq{data: s.data[n:], commit: &commitReq{ids: ids, latestFn: fn}}
	r.group.putAllCommit(ctx, req)
	if req.err != nil {
		return &fatal{fmt.Errorf("export: evidence: %w", req.err)}
	}
	if err := s.stored(n, req.refs); err != nil {
		return err
	}
	if req.commit.err != nil {
		return &fatal{req.commit.err}
	}
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
