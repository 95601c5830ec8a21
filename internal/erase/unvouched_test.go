package erase_test

import (
	"context"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
)

// TestRerunNeverVouches: an erase that finds everything already erased
// names the erasure entry that did it and has no vouching checkpoint,
// and does not vouch for it itself, even with the key. Someone without
// the key may have appended an entry erasing what the custodian asked
// for and more: vouching for it on a rerun for the one conversation
// would make the other's deleted evidence count as erased.
func TestRerunNeverVouches(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	ctx := context.Background()
	first, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0], free[1]}, Messages: []string{}, Reason: "x", Operator: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0]}, Messages: []string{}, Reason: "DSR", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Already || !slices.Equal(again.Unvouched, []uint64{first.Seq}) {
		t.Fatalf("rerun: already %v, unvouched %v; want entry %d named", again.Already, again.Unvouched, first.Seq)
	}
	if rep := m.verify(t); rep.OK || rep.Evidence.Erased != 0 || len(rep.Evidence.ErasedConversations) != 0 {
		t.Fatalf("an erasure nobody vouched for excuses: OK %v, %d erased, %v", rep.OK, rep.Evidence.Erased, rep.Evidence.ErasedConversations)
	}
}
