package export_test

import (
	"context"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// batchRecorder is a store that records what reaches it through Put and
// through PutBatch (it is an evidence.Batcher: PutAll uses it).
type batchRecorder struct {
	evidence.Store
	mu      sync.Mutex
	puts    int
	batched map[hashchain.Hash]bool
	batches int
}

func (b *batchRecorder) Put(ctx context.Context, data []byte) (evidence.Ref, error) {
	b.mu.Lock()
	b.puts++
	b.mu.Unlock()
	return b.Store.Put(ctx, data)
}

func (b *batchRecorder) PutBatch(ctx context.Context, data [][]byte) ([]evidence.Ref, error) {
	refs, err := evidence.PutAll(ctx, b.Store, data)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches++
	for _, r := range refs {
		b.batched[r.Sum] = true
	}
	return refs, nil
}

// TestExportEvidenceInBatches: capture stores a conversation's evidence
// — its bulk bodies, openings and attachments — through PutAll (the
// store's PutBatch), not one Put per object: Put is left for the few
// objects of the run as a whole (listing, legal-hold answers, audits).
func TestExportEvidenceInBatches(t *testing.T) {
	e := newEnv(t, 30, "")
	rec := &batchRecorder{Store: e.store, batched: map[hashchain.Hash]bool{}}
	scope := intervalScope()
	scope.Matter, scope.WithMedia = "matter-1", true
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: rec},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	checkCaptured(t, e)
	ctx := context.Background()
	messages, media := 0, 0
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		messages++
		if !rec.batched[en.EvidenceSHA256] {
			t.Errorf("message %s: its evidence %s was not stored in a batch", en.MessageID, en.EvidenceSHA256)
		}
		dd, err := leaf.DecodeDetail(leaf.KindMessage, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		d := dd.(*leaf.MessageDetail)
		if sum, err := hashchain.ParseHash(d.OpeningEvidence); err != nil || !rec.batched[sum] {
			t.Errorf("message %s: opening %q not stored in a batch (%v)", en.MessageID, d.OpeningEvidence, err)
		}
		for _, mr := range d.Media {
			if mr.Evidence == "" {
				continue
			}
			media++
			if sum, err := hashchain.ParseHash(mr.Evidence); err != nil || !rec.batched[sum] {
				t.Errorf("message %s: attachment %s not stored in a batch (%v)", en.MessageID, mr.ID, err)
			}
		}
	}
	if messages == 0 || media == 0 {
		t.Fatalf("%d messages, %d attachments: the test needs both", messages, media)
	}
	// Far fewer batches than objects, and Put only for run-wide objects.
	if rec.batches > acct.Exported || rec.puts >= acct.Exported {
		t.Errorf("%d batches and %d Puts for %d conversations, %d messages", rec.batches, rec.puts, acct.Exported, messages)
	}
	t.Logf("%d conversations, %d messages, %d attachments: %d batches, %d single Puts", acct.Exported, messages, media, rec.batches, rec.puts)
}
