package export_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestExportNothingToCaptureNeedsNoAudits: a run with no conversation to
// capture (an empty interval, a resumed run already complete) needs no
// audit references, so the audit query's failure does not fail it and a
// slow query is not waited for: it ends done. Before, it waited for the
// query (up to twice 10 minutes) and failed, exit 1 (review-commits4 N2).
// A resumed run that has conversations left still stops on the failure.
func TestExportNothingToCaptureNeedsNoAudits(t *testing.T) {
	empty := export.Scope{Matter: "matter-1", MediaType: "message", MessageType: "whatsapp",
		Interval: orgStart.Add(-72*time.Hour).Format(time.RFC3339) + "/" + orgStart.Add(-48*time.Hour).Format(time.RFC3339)}
	start := func(t *testing.T, opts sim.Options) *env {
		opts.OrgConfig = sim.OrgConfig{Seed: 7, Conversations: 30, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2}
		opts.JobDelay = 20 * time.Millisecond
		if opts.AuditDelay == 0 {
			opts.AuditDelay = 20 * time.Millisecond
		}
		srv := simtest.Start(t, opts)
		le := ledgertest.New(t, "matter-1")
		return &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	}
	run := func(t *testing.T, e *env, scope export.Scope) (*export.Accounting, error) {
		return export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
			export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
	}
	done := func(t *testing.T, acct *export.Accounting, err error) {
		t.Helper()
		if err != nil || acct.Status != ledger.RunDone || !acct.Complete() {
			t.Fatalf("export: %v, accounting %+v: want done", err, acct)
		}
	}
	t.Run("empty interval, query refused", func(t *testing.T) {
		e := start(t, sim.Options{AuditsForbidden: true})
		acct, err := run(t, e, empty)
		done(t, acct, err)
		if acct.Listed != 0 {
			t.Fatalf("%d conversations listed, want none", acct.Listed)
		}
	})
	t.Run("empty interval, query slow and failing", func(t *testing.T) {
		e := start(t, sim.Options{Faults: "auditfail@1,auditfail@2", AuditDelay: 20 * time.Second})
		acct, err := run(t, e, empty)
		done(t, acct, err)
		if n := routeRequests(e.srv, routeAuditQuery); n > 1 {
			t.Errorf("%d audit queries, want the first not waited for", n)
		}
	})
	// resumed exports ids, then sets the run back to running, as a run
	// killed after its last capture leaves it; pending, one conversation
	// back to pending too. The audit query fails twice from the second on.
	resumed := func(t *testing.T, pending bool) (*export.Accounting, error) {
		e := start(t, sim.Options{Faults: "auditfail@2,auditfail@3"})
		var ids []string
		for _, c := range whatsApp(e.srv.Org) {
			ids = append(ids, c.ID)
		}
		scope := export.Scope{Matter: "matter-1", IDs: ids}
		first, err := run(t, e, scope)
		done(t, first, err)
		err = e.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
			r, _, err := tx.Run(first.RunID)
			if err != nil {
				return err
			}
			r.Status = ledger.RunRunning
			if err := tx.PutRun(r); err != nil {
				return err
			}
			if !pending {
				return nil
			}
			it, _, err := tx.RunItem(first.RunID, ids[0])
			if err != nil {
				return err
			}
			it.Status = ledger.ItemPending
			return tx.PutRunItem(it)
		})
		if err != nil {
			t.Fatal(err)
		}
		acct, err := run(t, e, scope)
		if acct == nil || !acct.Resumed || acct.RunID != first.RunID {
			t.Fatalf("accounting %+v: want run %s resumed", acct, first.RunID)
		}
		return acct, err
	}
	t.Run("resumed run already complete", func(t *testing.T) {
		acct, err := resumed(t, false)
		done(t, acct, err)
	})
	t.Run("resumed run with a conversation left", func(t *testing.T) {
		acct, err := resumed(t, true)
		if err == nil || !strings.Contains(err.Error(), "audit query failed 2 times") || acct.Status != ledger.RunFailed {
			t.Fatalf("export: %v, status %s: want the run stopped by the audit query's failure", err, acct.Status)
		}
	})
}

// stopAtAuditStore stores an audit page (a body naming entityType) only
// once whoever stores it can no longer stop: with a context that can be
// cancelled it waits for the cancellation, as a slow disk would still be
// writing when a run stops the query, then reports the write done.
type stopAtAuditStore struct {
	evidence.Store
	mu   sync.Mutex
	puts []hashchain.Hash
}

func (s *stopAtAuditStore) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	if bytes.Contains(data, []byte(`"entityType"`)) && ctx.Done() != nil {
		<-ctx.Done()
	}
	ref, err := s.Store.Put(context.WithoutCancel(ctx), data)
	if err == nil && bytes.Contains(data, []byte(`"entityType"`)) {
		s.mu.Lock()
		s.puts = append(s.puts, ref.Sum)
		s.mu.Unlock()
	}
	return ref, err
}

// TestExportStoppedAuditQueryLeavesNoPageUnnamed: a run with nothing to
// capture stops the audit query; stopped after its pages are read, the
// query still records every page it stored (review-commits6 L1: the
// stop came between the store and the ledger's commit, and the pages
// stayed in the store with no entry naming them, while the run ended
// done).
func TestExportStoppedAuditQueryLeavesNoPageUnnamed(t *testing.T) {
	srv := simtest.Start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 7, Conversations: 30, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2},
		JobDelay: 20 * time.Millisecond, AuditDelay: 20 * time.Millisecond})
	le := ledgertest.New(t, "matter-1")
	e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	empty := export.Scope{Matter: "matter-1", MediaType: "message", MessageType: "whatsapp",
		Interval: orgStart.Add(-72*time.Hour).Format(time.RFC3339) + "/" + orgStart.Add(-48*time.Hour).Format(time.RFC3339)}
	st := &stopAtAuditStore{Store: e.store}
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: st},
		export.Options{Scope: empty, SignerKey: e.key, Concurrency: 4})
	if err != nil || acct.Status != ledger.RunDone {
		t.Fatalf("export: %v, status %s: want done", err, acct.Status)
	}
	named := map[hashchain.Hash]bool{}
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindAudit}) {
		if err != nil {
			t.Fatal(err)
		}
		named[en.EvidenceSHA256] = true
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, h := range st.puts {
		if !named[h] {
			t.Errorf("audit page %s is in the store, and no audit entry names it (%d stored, %d entries)", h, len(st.puts), len(named))
		}
	}
}

// blockAuditStore holds every audit page's Put until its context ends
// (or the test does), saying when the first one began.
type blockAuditStore struct {
	evidence.Store
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (s *blockAuditStore) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	if bytes.Contains(data, []byte(`"entityType"`)) {
		s.once.Do(func() { close(s.entered) })
		select {
		case <-ctx.Done():
			return evidence.Ref{}, ctx.Err()
		case <-s.release:
		}
	}
	return s.Store.Put(ctx, data)
}

// TestExportCtrlCStopsFinalAuditStore: Ctrl-C while the audit query
// stores its last pages stops the run at once. Recording them whatever
// the run's stop (b368c50) also ignored the user's: Run waited for the
// whole store, up to 64 MB on a slow link, a second Ctrl-C swallowed
// (review-commits7 M1).
func TestExportCtrlCStopsFinalAuditStore(t *testing.T) {
	e := newEnv(t, 10, "")
	st := &blockAuditStore{Store: e.store, entered: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(st.release) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scope := export.Scope{Matter: "matter-1", MediaType: "message", MessageType: "whatsapp",
		Interval: orgStart.Format(time.RFC3339) + "/" + orgEnd.Format(time.RFC3339)}
	done := make(chan error, 1)
	go func() {
		_, err := export.Run(ctx, export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: st},
			export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
		done <- err
	}()
	select {
	case <-st.entered:
	case err := <-done:
		t.Fatalf("the run ended (%v) before storing an audit page", err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after Ctrl-C the run ended with %v, want it cancelled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run is still storing audit pages 30 s after Ctrl-C")
	}
}
