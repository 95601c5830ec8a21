package verify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/verify"
)

// TestVerifySupersedesRule: an entry whose supersedes names another
// message's capture, or a later entry, is refused by verify as custody's
// append refuses it (a reader taking the latest capture would skip the
// message it names); a genuine re-capture passes. Before, verify did not
// look at supersedes at all.
func TestVerifySupersedesRule(t *testing.T) {
	for _, tc := range []struct {
		name       string
		supersedes uint64
		want       string
	}{
		{"a re-capture of the same message", 0, ""},
		{"another message's capture", 1, "supersedes 1, which is not an entry of this message's kind, conversation and message"},
		{"a later entry", 9, "supersedes 9, which is not an earlier entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, withEvidence := range []bool{false, true} {
				f := newFixture(t)
				es := f.appendN(4)
				// Entry 0 again, as a capture superseding tc.supersedes.
				e := es[0]
				e.Seq, e.Supersedes = 4, &tc.supersedes
				forged, err := e.AppendLeaf(nil)
				if err != nil {
					t.Fatal(err)
				}
				f.forgeRow(forged)
				opts := verify.Options{}
				if withEvidence {
					dir := filepath.Join(t.TempDir(), "evidence")
					if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
						t.Fatal(err)
					}
					store, err := folder.Open(dir, evidence.Options{})
					if err != nil {
						t.Fatal(err)
					}
					opts.Evidence, opts.NoDerive = evidence.ReadOnly(store), true
				}
				rep := f.verify(opts)
				var got []string
				for _, fd := range rep.Findings {
					if fd.Check == verify.CheckEntry {
						got = append(got, fd.Message)
					}
				}
				if tc.want == "" {
					if len(got) > 0 {
						t.Fatalf("evidence %v: entry findings %q", withEvidence, got)
					}
					continue
				}
				if len(got) != 1 || !strings.Contains(got[0], tc.want) || rep.OK {
					t.Fatalf("evidence %v: entry findings %q, OK %v; want one containing %q", withEvidence, got, rep.OK, tc.want)
				}
			}
		})
	}
}
