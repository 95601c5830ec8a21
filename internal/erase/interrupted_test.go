package erase_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestEraseInterruptedThenAgain: an erasure stopped after deleting
// evidence but before its entry (the process killed, the ledger not
// writable) leaves the objects gone and unrecorded, and verify says so;
// the same erase run again records it, and verify passes with the
// conversation erased and its text in no file. docs/erase.md promises it.
func TestEraseInterruptedThenAgain(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	target := free[0]
	needles := secrets(t, m.srv.Org, target, false)
	req := erase.Request{Conversations: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}

	// The first attempt deletes through the matter's store but cannot
	// append: its ledger is opened read-only, as a crash between the two
	// steps would leave things.
	ro, err := ledger.Open(ctx, filepath.Join(m.le.Dir, "custody.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = erase.Erase(ctx, ro, m.le.Store, req)
	ro.Close()
	if err == nil || !strings.Contains(err.Error(), "run the same erase again") {
		t.Fatalf("erase on a read-only ledger: %v, want the deleted-but-not-recorded error", err)
	}
	if rep := m.verify(t); rep.OK || rep.Evidence.Missing == 0 {
		t.Fatalf("verify after an unrecorded erasure: ok %v, evidence %+v: the missing objects must be findings", rep.OK, rep.Evidence)
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatalf("the same erase again: %v", err)
	}
	if len(res.Detail.Erased) == 0 || slices.ContainsFunc(res.Detail.Kept, notDeleted) {
		t.Errorf("second run: erased %d objects, kept %v", len(res.Detail.Erased), res.Detail.Kept)
	}
	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || !slices.Equal(rep.Evidence.ErasedConversations, []string{target}) {
		t.Fatalf("verify after the erase ran again: ok %v, findings %v, evidence %+v", rep.OK, rep.Findings, rep.Evidence)
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) != 0 {
		t.Errorf("the erased conversation's text is still in %v", hits)
	}
}

func notDeleted(k leaf.ErasedKept) bool { return strings.HasPrefix(k.Why, "not deleted: ") }

// cancellingStore cancels the erasure's context once it has deleted
// after objects, as Ctrl-C in the middle of the deletions would.
type cancellingStore struct {
	evidence.Store
	after  int32
	n      atomic.Int32
	cancel context.CancelFunc
}

func (s *cancellingStore) Delete(ctx context.Context, sum hashchain.Hash) error {
	err := s.Store.Delete(ctx, sum)
	if s.n.Add(1) == s.after {
		s.cancel()
	}
	return err
}

// TestEraseCancelledThenAgain: an erasure cancelled in the middle of its
// deletions, then run again, ends with every object of the conversation
// gone and verify passing. The cancelled run records what it deleted
// and returns an error: an erasure cut short is not reported done.
func TestEraseCancelledThenAgain(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	target := free[0]
	needles := secrets(t, m.srv.Org, target, false)
	req := erase.Request{Conversations: []string{target}, Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &cancellingStore{Store: m.le.Store, after: 2, cancel: cancel}
	res, err := erase.Erase(ctx, m.le.Ledger, st, req)
	// What it deleted is recorded, what it did not is kept "not deleted",
	// and the caller is told the erasure is not finished.
	if err == nil || res == nil || len(res.Detail.Erased) != 2 || !slices.ContainsFunc(res.Detail.Kept, notDeleted) ||
		!strings.Contains(err.Error(), "run the same erase again") {
		t.Fatalf("cancelled erase: err %v, result %+v", err, res)
	}

	if _, err := erase.Erase(context.Background(), m.le.Ledger, m.le.Store, req); err != nil {
		t.Fatalf("the same erase again: %v", err)
	}
	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || !slices.Equal(rep.Evidence.ErasedConversations, []string{target}) {
		t.Fatalf("verify after the erase ran again: ok %v, findings %v, evidence %+v", rep.OK, rep.Findings, rep.Evidence)
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) != 0 {
		t.Errorf("the erased conversation's text is still in %v", hits)
	}
}
