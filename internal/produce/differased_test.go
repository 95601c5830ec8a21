package produce_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// diffSelection is produce --diff's reading of a recorded diff.
var diffSelection = produce.DiffSelection

// TestProduceDiffSkipsErasedOnly: a conversation whose only findings in
// a diff are erased (custody erase deleted the messages the diff could
// not compare) is not selected by --diff: there is no discrepancy in it
// to produce, and the erased content cannot be. Produce says how many it
// skipped. A conversation with another finding is still produced.
func TestProduceDiffSkipsErasedOnly(t *testing.T) {
	m := capture(t, 12)
	ctx := context.Background()
	msgs, held := ledgerMessages(t, m)
	perConv := map[string][]string{}
	for id, w := range msgs {
		perConv[w.convID] = append(perConv[w.convID], id)
	}
	var free []string
	for c := range held {
		if !held[c] && len(perConv[c]) >= 2 {
			free = append(free, c)
		}
	}
	slices.Sort(free)
	if len(free) < 2 {
		t.Fatalf("%d conversations without legal hold, want 2", len(free))
	}
	onlyErased, damaged := free[0], free[1]
	slices.Sort(perConv[onlyErased])
	if _, err := erase.Erase(ctx, m.l, m.store, erase.Request{Messages: perConv[onlyErased][:1], Reason: "DSR-9", Operator: "dpo", SignerKey: m.key}); err != nil {
		t.Fatal(err)
	}
	// An export of both, clean but for the damaged one's messages altered.
	dir := filepath.Join(m.dir, "x")
	target, err := recexport.OpenTarget(ctx, dir, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, m.srv.Org, []string{onlyErased}, target, recexport.CleanProfile(recexport.ShapeGenesys, 1)); err != nil {
		t.Fatal(err)
	}
	p := recexport.CleanProfile(recexport.ShapeGenesys, 1)
	p.AlterContent = 1
	if _, err := recexport.Export(ctx, m.srv.Org, []string{damaged}, target, p); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]finding.Kind{}
	if _, err := diff.Run(ctx, src, &reconcile.LedgerIndex{L: m.l, Evidence: m.store}, diff.Options{}, func(f diff.Finding) error {
		kinds[f.ConversationID] = append(kinds[f.ConversationID], f.Kind)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("findings: %v", kinds)
	if slices.ContainsFunc(kinds[onlyErased], func(k finding.Kind) bool { return k != finding.Erased }) || len(kinds[onlyErased]) == 0 {
		t.Fatalf("the erased conversation's findings: %v, want erased alone", kinds[onlyErased])
	}
	if _, err := reconcile.Diff(ctx, m.l, m.store, src, reconcile.DiffOptions{SignerKey: m.key}); err != nil {
		t.Fatal(err)
	}
	sel, err := diffSelection(ctx, m.l, m.store, "latest")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(sel.DiffConversations, onlyErased) || !slices.Contains(sel.DiffConversations, damaged) || !slices.Equal(sel.DiffSkippedErased, []string{onlyErased}) {
		t.Fatalf("selected %v, skipped %v; want %s skipped, %s selected", sel.DiffConversations, sel.DiffSkippedErased, onlyErased, damaged)
	}
	out := filepath.Join(t.TempDir(), "p")
	res, err := m.produce(t, out, produce.Options{Selection: sel})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, convs := readBack(t, out)
	if _, ok := convs[onlyErased]; ok || !slices.Equal(res.SkippedErased, []string{onlyErased}) || res.Erased != 0 {
		t.Errorf("produced %v, said skipped %v, erased %d", convs, res.SkippedErased, res.Erased)
	}
	// Nothing else in the diff: the selection is empty, and says why.
	sel.DiffConversations = nil
	_, err = m.produce(t, filepath.Join(t.TempDir(), "q"), produce.Options{Selection: sel})
	if !errors.Is(err, produce.ErrEmptySelection) || !strings.Contains(err.Error(), "1 conversations of diff "+sel.DiffRunID+" skipped: their only findings are erased") {
		t.Errorf("empty but for the skipped: %v", err)
	}
}
