package report_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/report"
)

// TestReportAfterDiffFindingsErased: an erasure deletes the findings of
// the diffs that named what it erased; the report asked for no diff by
// name is still written, without that diff, saying which diff can no
// longer be read, which erasure deleted its findings and what to do —
// and section 2 shows the held conversation erased under the override.
// Asked for that diff by name, it fails, naming the erasure.
func TestReportAfterDiffFindingsErased(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	held := heldMessages(t, le)
	var conv string
	for c := range held {
		conv = c
		break
	}
	// An export lacking every conversation: its findings name each.
	dr := diffExport(t, le, map[string][]string{"00000000-0000-4000-8000-000000000000": {"m"}})
	er, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-12", Operator: "dpo",
		OverrideHold: "counsel ticket 12", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(er.Detail.Diffs) == 0 {
		t.Fatalf("the erasure deleted no findings of diff %s: the test needs it to", dr.RunID)
	}
	rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), Proofs: report.ProofsNone, NoRecord: true})
	if err != nil {
		t.Fatalf("report after an erasure deleted the latest diff's findings: %v", err)
	}
	doc := readDoc(t, rr.JSON)
	if doc.Diff != nil || doc.DiffErased == nil || doc.DiffErased.RunID != dr.RunID || doc.DiffErased.Seq != dr.Seq || doc.DiffErased.ErasureSeq != er.Seq {
		t.Errorf("diff %+v, diff_erased %+v; want diff %s (seq %d) erased by entry %d", doc.Diff, doc.DiffErased, dr.RunID, dr.Seq, er.Seq)
	}
	found := false
	for _, hc := range doc.LegalHold.Held {
		found = found || hc.ID == conv && hc.Erased != nil && hc.Erased.Seq == er.Seq
	}
	if !found {
		t.Errorf("section 2 does not mark held conversation %s erased by entry %d", conv, er.Seq)
	}
	b, err := os.ReadFile(rr.HTML)
	if err != nil {
		t.Fatal(err)
	}
	_, note, _ := strings.Cut(string(b), `id="diff-erased">`)
	note, _, _ = strings.Cut(note, "</p>")
	for _, want := range []string{dr.RunID, fmt.Sprintf("erasure entry %d deleted its findings", er.Seq), "custody diff"} {
		if !strings.Contains(note, want) {
			t.Errorf("section 2's note %q lacks %q", note, want)
		}
	}
	if strings.Contains(string(b), `id="no-diff"`) {
		t.Error("the report says no export has been diffed, though one was")
	}
	_, err = report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), Diff: dr.RunID, Proofs: report.ProofsNone, NoRecord: true})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "erasure") {
		t.Errorf("report --diff %s, whose findings are erased: %v; want it refused, naming the erasure", dr.RunID, err)
	}
}

// TestReportAfterRediff: custody diff run again on the same export after
// an erasure, as the report advises, stores byte-identical findings (a
// findings object is deterministic): the objects the erasure lists as
// erased are back, named by a diff recorded after it. That diff is read,
// not said erased by the older erasure, which would send the reader to
// run diff again, in a loop. And a diff whose findings object the
// erasure names but which is in the store again is read too.
func TestReportAfterRediff(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	var conv string
	for c := range heldMessages(t, le) {
		conv = c
		break
	}
	exp := map[string][]string{"00000000-0000-4000-8000-000000000000": {"m"}}
	dr := diffExport(t, le, exp)
	var deleted []byte // a findings object the erasure deletes, as it was
	for _, s := range dr.FindingsEvidence {
		h, err := hashchain.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := le.Store.Get(ctx, h); err == nil && deleted == nil {
			deleted = b
		}
	}
	er, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-12", Operator: "dpo",
		OverrideHold: "counsel ticket 12", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(er.Detail.Diffs) != 1 || er.Detail.Diffs[0].Seq != dr.Seq {
		t.Fatalf("erasure diffs %+v: the test needs diff entry %d's findings deleted", er.Detail.Diffs, dr.Seq)
	}
	gen := func() *report.Doc {
		t.Helper()
		rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), Proofs: report.ProofsNone, NoRecord: true})
		if err != nil {
			t.Fatalf("report: %v", err)
		}
		return readDoc(t, rr.JSON)
	}

	// The findings object is back in the store, no diff run again: the
	// erased diff can be read whole, and is.
	if _, err := le.Store.Put(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if doc := gen(); doc.DiffErased != nil || doc.Diff == nil || doc.Diff.RunID != dr.RunID {
		t.Errorf("diff entry %d's findings in the store again: diff %+v, diff_erased %+v; want the diff read", dr.Seq, doc.Diff, doc.DiffErased)
	}

	dr2 := diffExport(t, le, exp)
	if !slices.Equal(dr2.FindingsEvidence, dr.FindingsEvidence) {
		t.Fatalf("the diff run again stored other findings objects (%v, before %v): the test needs the same", dr2.FindingsEvidence, dr.FindingsEvidence)
	}
	doc := gen()
	if doc.DiffErased != nil {
		t.Errorf("diff_erased %+v: diff entry %d, recorded after erasure entry %d, said erased by it", doc.DiffErased, dr2.Seq, er.Seq)
	}
	if doc.Diff == nil || doc.Diff.RunID != dr2.RunID || doc.Diff.Seq != dr2.Seq {
		t.Errorf("diff %+v; want the diff run again, %s (seq %d), read", doc.Diff, dr2.RunID, dr2.Seq)
	}
}

// TestReportDiffErasureNotVouched: an erasure entry no checkpoint signed
// for it vouches for (an erase without the signer key, or cut short
// before its checkpoint) excuses nothing: verify counts the diff's
// findings objects it deleted missing, so the report must not say the
// diff was erased by it. It fails saying why and how to vouch; once a
// checkpoint vouches for the erasure, the diff is said erased by it.
func TestReportDiffErasureNotVouched(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	var conv string
	for c := range heldMessages(t, le) {
		conv = c
		break
	}
	dr := diffExport(t, le, map[string][]string{"00000000-0000-4000-8000-000000000000": {"m"}})
	er, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-13", Operator: "dpo",
		OverrideHold: "counsel ticket 13"})
	if err != nil {
		t.Fatal(err)
	}
	if len(er.Detail.Diffs) != 1 || er.Detail.Diffs[0].Seq != dr.Seq {
		t.Fatalf("erasure diffs %+v: the test needs diff entry %d's findings deleted", er.Detail.Diffs, dr.Seq)
	}
	gen := func() (*report.Doc, error) {
		rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), Proofs: report.ProofsNone, NoRecord: true})
		if err != nil {
			return nil, err
		}
		return readDoc(t, rr.JSON), nil
	}
	doc, err := gen()
	if doc != nil && doc.DiffErased != nil {
		t.Fatalf("diff_erased %+v: erasure entry %d, which no checkpoint vouches for, said to have erased diff entry %d's findings, which verify counts missing", doc.DiffErased, er.Seq, dr.Seq)
	}
	if want := fmt.Sprintf("custody checkpoint --erasure %d", er.Seq); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "missing, not erased") {
		t.Errorf("report over an unvouched erasure of the latest diff's findings: %v; want it refused as missing, naming %q", err, want)
	}

	if _, err := le.Ledger.CheckpointErasure(ctx, le.Key, er.Seq); err != nil {
		t.Fatal(err)
	}
	doc, err = gen()
	if err != nil {
		t.Fatalf("report once the erasure is vouched for: %v", err)
	}
	if doc.DiffErased == nil || doc.DiffErased.Seq != dr.Seq || doc.DiffErased.ErasureSeq != er.Seq {
		t.Errorf("diff_erased %+v once erasure entry %d is vouched for; want diff entry %d erased by it", doc.DiffErased, er.Seq, dr.Seq)
	}
}
