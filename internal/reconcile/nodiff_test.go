package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestNoDiffMessages: with no recorded diff, refetch's error offers a
// findings file (refetch --findings reads one) and produce's does not
// (produce --diff takes a recorded diff only): each says what is true
// for its command.
func TestNoDiffMessages(t *testing.T) {
	le := ledgertest.New(t, "m")
	ctx := context.Background()
	_, _, err := reconcile.LoadGaps(ctx, le.Ledger, le.Store, "findings.jsonl")
	if !errors.Is(err, reconcile.ErrNoDiff) || !strings.Contains(err.Error(), "or pass a findings file") {
		t.Errorf("refetch: %v", err)
	}
	_, _, err = reconcile.DiffConversations(ctx, le.Ledger, le.Store, "findings.jsonl")
	if !errors.Is(err, reconcile.ErrNoDiff) || strings.Contains(err.Error(), "findings file") || !strings.Contains(err.Error(), "--diff takes a recorded diff's run id, or latest") {
		t.Errorf("produce --diff: %v", err)
	}
}
