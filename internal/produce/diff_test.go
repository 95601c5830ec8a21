package produce_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// TestProduceFromDiff: a production from a recorded diff holds exactly
// the captured conversations the diff has findings in.
func TestProduceFromDiff(t *testing.T) {
	m := capture(t, 40)
	ctx := context.Background()
	_, held := ledgerMessages(t, m)
	var captured []string
	for id := range held {
		captured = append(captured, id)
	}
	slices.Sort(captured)
	// A damaged Recording export of some of the conversations.
	dir := filepath.Join(m.dir, "old")
	target, err := recexport.OpenTarget(ctx, dir, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, m.srv.Org, captured[:len(captured)/3], target, recexport.DefaultProfile(recexport.ShapeGenesys, 3)); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	if _, err := diff.Run(ctx, src, &reconcile.LedgerIndex{L: m.l, Evidence: m.store}, diff.Options{}, func(f diff.Finding) error {
		if _, ok := held[f.ConversationID]; ok {
			want[f.ConversationID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// (A diff also reports captured messages the export lacks, so here
	// every conversation has findings; TestProduceSelections checks that
	// a diff's subset selects only that subset.)
	if len(want) == 0 {
		t.Fatal("the diff found nothing")
	}
	if _, err := reconcile.Diff(ctx, m.l, m.store, src, reconcile.DiffOptions{SignerKey: m.key}); err != nil {
		t.Fatal(err)
	}
	runID, ids, err := reconcile.DiffConversations(ctx, m.l, m.store, "latest")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "p")
	if _, err := m.produce(t, out, produce.Options{Selection: produce.Selection{DiffRunID: runID, DiffConversations: ids}}); err != nil {
		t.Fatal(err)
	}
	_, _, _, convs := readBack(t, out)
	var got, wantIDs []string
	for id := range convs {
		got = append(got, id)
	}
	for id := range want {
		wantIDs = append(wantIDs, id)
	}
	slices.Sort(got)
	slices.Sort(wantIDs)
	if !slices.Equal(got, wantIDs) {
		t.Errorf("produced %v, the diff has findings in %v", got, wantIDs)
	}
}
