package verify

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestEvidenceCheckEndsOnCancel: cancelled while the walk sends nothing
// more (a cancelled walk waits for the derive stage, which waits for the
// hashing to end), the evidence check must end by itself. It did not: its
// references waited for the walk to close them, and a report given
// Ctrl-C hung for good, holding the matter's lock. The timeout only
// detects the hang; how fast it ends is not asserted.
func TestEvidenceCheckEndsOnCancel(t *testing.T) {
	store, err := folder.Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hashed := make(chan struct{}, 16)
	c := newEvidenceCheck(ctx, store, nil, func(done, total int) {
		if done > 0 {
			hashed <- struct{}{}
		}
	}, true)
	defer c.close()
	// One reference hashed (missing from the store), so that the hashing
	// has started and waits for the next: then the walk is cancelled.
	c.add(hashchain.Hash(sha256.Sum256([]byte("absent"))), 0, "conversation", "")
	<-hashed
	cancel()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the evidence check still runs 30 s after its context was cancelled, with the walk sending nothing: a cancelled verify would hang")
	}
	if c.err == nil {
		t.Error("the evidence check ended without an error on cancellation: it would report a complete check")
	}
}
