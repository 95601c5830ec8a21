package verify_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/verify"
)

// TestErasureBreakOneFinding: an entry deleted before a checkpoint that
// vouches for an erasure breaks that checkpoint, so the objects the
// erasure deleted count as missing; they follow from the break and are
// counted on it (consequent_evidence), not listed before it: the first
// finding named is the deleted entry. The old code named first 'seq 0:
// evidence … is missing …: no signed checkpoint vouches for that
// erasure', the break second. An object missing for a reason of its own
// stays listed.
func TestErasureBreakOneFinding(t *testing.T) {
	// erasedBreak erases conv-a (its body deleted), vouches for it with
	// a checkpoint, and deletes entry 3 (conv-b's second message).
	erasedBreak := func(t *testing.T, before func(x *erasedFixture)) *erasedFixture {
		t.Helper()
		x := newErasedFixture(t)
		seq := x.erase("conv-a", x.msgsA, x.bodyA)
		if before != nil {
			before(x)
		}
		x.vouch(seq)
		if rep := x.check(verify.Options{}); before == nil && (!rep.OK || rep.Evidence.Erased != 1) {
			t.Fatalf("before the break: %v %+v", rep.Findings, rep.Evidence)
		}
		x.raw(`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 3`)
		x.reopen()
		return x
	}
	t.Run("counted on the break", func(t *testing.T) {
		x := erasedBreak(t, nil)
		rep := x.check(verify.Options{})
		first := rep.First()
		if len(rep.Findings) != 1 || first.Check != verify.CheckSequence || *first.Seq != 3 || first.ConsequentEvidence != 1 || first.ConsequentCheckpoints != 2 {
			t.Fatalf("findings %v (%+v)", rep.Findings, first)
		}
		want := "; and 3 entries and 2 checkpoints after it fail because of it, and 1 evidence object counts as missing because of it (the checkpoints vouching for its erasure fail with it)"
		if !strings.HasSuffix(first.String(), want) {
			t.Errorf("%q lacks %q", first, want)
		}
		if rep.Evidence.Missing != 1 || rep.Evidence.Erased != 0 {
			t.Errorf("evidence %+v", rep.Evidence)
		}
		b, err := json.Marshal(first)
		if err != nil || !strings.Contains(string(b), `"consequent_evidence":1`) {
			t.Errorf("JSON %s, %v", b, err)
		}
	})
	t.Run("missing of its own", func(t *testing.T) {
		// conv-b's body deleted too, which no erasure lists: a failure
		// of its own, listed; conv-a's body is still counted on the break.
		x := erasedBreak(t, nil)
		if err := x.store.Delete(x.ctx, x.bodyB); err != nil {
			t.Fatal(err)
		}
		rep := x.check(verify.Options{})
		var got []string
		for _, f := range rep.Findings {
			got = append(got, fmt.Sprintf("%d %s %d", *f.Seq, f.Check, f.ConsequentEvidence))
		}
		if strings.Join(got, ", ") != "1 evidence 0, 3 sequence 1" || !strings.Contains(rep.Findings[0].Message, x.bodyB.String()+" is missing") {
			t.Fatalf("findings %v", rep.Findings)
		}
	})
	t.Run("not excused anyway", func(t *testing.T) {
		// An entry after the erasure references conv-a's body: had the
		// checkpoint held, the body would be missing all the same, so
		// it is listed, not counted on the break.
		x := erasedBreak(t, func(x *erasedFixture) {
			if _, err := x.l.Append(x.ctx, message("conv-c", 0, x.bodyA)); err != nil {
				t.Fatal(err)
			}
		})
		rep := x.check(verify.Options{})
		if len(rep.Findings) != 2 || rep.Findings[0].Check != verify.CheckEvidence || *rep.Findings[0].Seq != 0 ||
			!strings.Contains(rep.Findings[0].Message, x.bodyA.String()+" is missing") ||
			rep.Findings[1].Check != verify.CheckSequence || rep.Findings[1].ConsequentEvidence != 0 {
			t.Fatalf("findings %v", rep.Findings)
		}
	})
}
