package verify_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/verify"
)

// strictChecks are the findings of the strict leaf check.
var strictChecks = []string{verify.CheckIJSON, verify.CheckDuplicate, verify.CheckCanonical, verify.CheckEntry}

// TestVerifyStrictLeavesWithEvidence: with evidence (and with or without
// re-derivation) the leaf stage decodes and checks each leaf in one pass
// (leaf.DecodeChecked) instead of leaf.CheckLeaf; every forged leaf of
// strictTampers gives exactly the strict finding it gives without
// evidence, word for word, and the genuine leaf none.
func TestVerifyStrictLeavesWithEvidence(t *testing.T) {
	g := string(genuineLeaf(t))
	strictOf := func(rep verify.Report) []string {
		var out []string
		for _, f := range rep.Findings {
			if slices.Contains(strictChecks, f.Check) {
				out = append(out, f.String())
			}
		}
		return out
	}
	for _, noDerive := range []bool{false, true} {
		for _, tc := range append(strictTampers, struct {
			name  string
			leaf  func(string) string
			check string
		}{"genuine", func(g string) string { return g }, ""}) {
			t.Run(fmt.Sprintf("%s, no-derive %v", tc.name, noDerive), func(t *testing.T) {
				f, _ := buildTamperFixture(t)
				f.forgeRow([]byte(tc.leaf(g)))
				want := strictOf(f.verify(verify.Options{}))
				if (len(want) == 1) != (tc.check != "") {
					t.Fatalf("without evidence: %v", want)
				}
				dir := filepath.Join(t.TempDir(), "evidence")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				store, err := folder.Open(dir, evidence.Options{})
				if err != nil {
					t.Fatal(err)
				}
				rep := f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: noDerive})
				if got := strictOf(rep); !slices.Equal(got, want) {
					t.Fatalf("no-derive %v: strict findings\n%q\nwant\n%q", noDerive, got, want)
				}
			})
		}
	}
}
