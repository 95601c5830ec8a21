package report_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/custodyhq/custody/internal/demo"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// TestTrueValuesAddUp: section 3 says what custody holds for the messages
// an export lacked a field for. A customer pipeline's reshape has no
// sender, so every message of it lacks one, each sender a value of its
// own; the row's true values must account for every such message (they
// once stopped at the 16th distinct value).
func TestTrueValuesAddUp(t *testing.T) {
	ctx := context.Background()
	cfg := demo.Config{Dir: filepath.Join(t.TempDir(), "d"), Conversations: 40, Seed: 5, ToolVersion: "devel"}
	res, err := demo.Run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, st, key := openMatter(t, res)
	// The demo's org, exported by a pipeline's reshape.
	org := demo.Org(cfg)
	dir := t.TempDir()
	tgt, err := recexport.OpenTarget(ctx, dir, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, org, nil, tgt, recexport.CleanProfile(recexport.ShapeReshape, uint64(cfg.Seed))); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reconcile.Diff(ctx, m.Ledger, st, src, reconcile.DiffOptions{SignerKey: key}); err != nil {
		t.Fatal(err)
	}
	rr, err := report.Generate(ctx, m.Ledger, st, report.Options{Out: filepath.Join(t.TempDir(), "r"), SignerKey: key, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, rr.JSON)
	var sender *report.FormatGap
	for i, g := range doc.FormatGaps {
		if g.Field == finding.FieldSender && g.Kind == string(finding.FieldStripped) {
			sender = &doc.FormatGaps[i]
		}
	}
	if sender == nil || sender.Absent <= 16 {
		t.Fatalf("section 3's sender row: %+v; the test needs more than 16 messages without one", sender)
	}
	sum := 0
	for _, n := range sender.TrueValues {
		sum += n
	}
	if sum != sender.Absent || sender.TrueValues["captured"] != sum {
		t.Errorf("sender absent from %d messages; true values %v add up to %d", sender.Absent, sender.TrueValues, sum)
	}
	// Every compared message lacks it, yet the diff found it stripped
	// (the reshape's policy names a place for it): section 3 must not say
	// the format has no such field, which the diff's findings contradict.
	if sender.Format || sender.Absent < sender.Compared {
		t.Errorf("sender row %+v: want absent from every compared message, format_cannot_carry false", sender)
	}
}
