package reconcile_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// failingBatch is a LedgerIndex whose batches give the first give
// conversations of each and then fail, so the diff loads the rest one by
// one (give < 0: none given).
type failingBatch struct {
	*reconcile.LedgerIndex
	give    int
	batches atomic.Int64 // the diff's workers call ConversationsBatch concurrently
}

func (f *failingBatch) ConversationsBatch(ctx context.Context, convs []string, fn func(string, []diff.Captured)) error {
	f.batches.Add(1)
	if f.give < 0 {
		return errors.New("no batch")
	}
	n := 0
	err := f.LedgerIndex.ConversationsBatch(ctx, convs, func(conv string, all []diff.Captured) {
		if n < f.give {
			fn(conv, all)
		}
		n++
	})
	if err == nil && n > f.give {
		err = errors.New("failed part way")
	}
	return err
}

// TestBatchedDiffAgrees: a diff whose workers load conversations in
// batches gives the same findings in the same order, and the same
// summary, as one that loads them one at a time — also when batches fail
// whole or part way — for a Genesys layout (named conversation folders)
// and a reshape (no hints).
func TestBatchedDiffAgrees(t *testing.T) {
	srv, l, st, dir := captureAll(t, 40)
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		t.Run(shape, func(t *testing.T) {
			target, err := recexport.OpenTarget(context.Background(), filepath.Join(dir, shape), s3util.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := recexport.Export(context.Background(), srv.Org, nil, target, recexport.DefaultProfile(shape, 9)); err != nil {
				t.Fatal(err)
			}
			run := func(idx diff.Index) ([]string, diff.Summary) {
				src, err := exportfile.NewDirSource(filepath.Join(dir, shape))
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				var out []string
				sum, err := diff.Run(context.Background(), src, idx, diff.Options{Concurrency: 3}, func(f diff.Finding) error {
					out = append(out, string(f.AppendJSON(nil)))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return out, sum
			}
			none := &failingBatch{LedgerIndex: &reconcile.LedgerIndex{L: l, Evidence: st}, give: -1}
			want, wantSum := run(none)
			if len(want) == 0 {
				t.Fatal("no findings to compare")
			}
			if shape == recexport.ShapeGenesys && none.batches.Load() == 0 {
				t.Fatal("the Genesys layout gave no batch")
			}
			for _, idx := range []diff.Index{
				&reconcile.LedgerIndex{L: l, Evidence: st},
				&failingBatch{LedgerIndex: &reconcile.LedgerIndex{L: l, Evidence: st}, give: 2},
			} {
				got, sum := run(idx)
				if !slices.Equal(got, want) {
					t.Errorf("%T: %d findings, one at a time %d", idx, len(got), len(want))
					for i := range min(len(got), len(want)) {
						if got[i] != want[i] {
							t.Errorf("first difference at %d:\n%s\n%s", i, got[i], want[i])
							break
						}
					}
				}
				if !reflect.DeepEqual(sum, wantSum) {
					t.Errorf("%T: summary %+v, one at a time %+v", idx, sum, wantSum)
				}
			}
		})
	}
}
