package verify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/verify"
)

// TestErasureRereadFails: the ledger is read again after the pass to
// judge an absent object against the erasure entry that lists it; when
// that read fails, the report says the ledger could not be read, as the
// evidence check's part not made, and keeps what the check found. Before,
// the error came back as the evidence check's own ("evidence: not
// checked: erasures: …", read as the store's failure), with no evidence
// summary and none of the check's findings: a missing object found beside
// it was dropped, and verify said INCOMPLETE (exit 1) over a failure.
func TestErasureRereadFails(t *testing.T) {
	ioErr := errors.New("ledger: entries: disk I/O error")
	setup := func(t *testing.T) *erasedFixture {
		x := newErasedFixture(t)
		x.vouch(x.erase("conv-a", x.msgsA, x.bodyA))
		if rep := x.check(verify.Options{}); !rep.OK || rep.Evidence.Erased != 1 {
			t.Fatalf("before: %v %+v", rep.Findings, rep.Evidence)
		}
		t.Cleanup(verify.FailLedgerReread(ioErr))
		return x
	}
	wantUnjudged := func(t *testing.T, rep verify.Report) {
		t.Helper()
		if rep.OK || rep.Holds() || len(rep.Unchecked) == 0 {
			t.Fatalf("the judgement not made, the report holds: %+v", rep)
		}
		u := rep.Unchecked[0]
		for _, s := range []string{"the ledger could not be read again to judge 1 object absent from the store against the erasure entries listing it",
			ioErr.Error(), "it is given no verdict", "verify again once the ledger file can be read"} {
			if u.Check != verify.CheckEvidence || !strings.Contains(u.Error, s) {
				t.Errorf("unchecked %q does not say %q", u, s)
			}
		}
		if strings.Contains(u.Error, "erasures: ") {
			t.Errorf("unchecked %q says the store's way", u)
		}
		e := rep.Evidence
		if e == nil {
			t.Fatal("no evidence summary")
		}
		if e.Unjudged != 1 || e.NotChecked != 1 || e.Erased != 0 || e.Referenced != 2 {
			t.Errorf("evidence %+v", e)
		}
	}

	t.Run("nothing else", func(t *testing.T) {
		x := setup(t)
		rep := x.check(verify.Options{})
		wantUnjudged(t, rep)
		if len(rep.Findings) != 0 || rep.Evidence.Missing != 0 || len(rep.Unchecked) != 1 {
			t.Errorf("findings %v, evidence %+v, unchecked %v", rep.Findings, rep.Evidence, rep.Unchecked)
		}
		if err := rep.Incomplete(); err == nil || !strings.Contains(err.Error(), "the ledger could not be read again") {
			t.Errorf("Incomplete: %v", err)
		}
	})
	t.Run("a failure found stands", func(t *testing.T) {
		// conv-b's body deleted, which no erasure lists: missing, judged
		// without the ledger.
		x := setup(t)
		if err := x.store.Delete(x.ctx, x.bodyB); err != nil {
			t.Fatal(err)
		}
		rep := x.check(verify.Options{})
		wantUnjudged(t, rep)
		if len(rep.Findings) != 1 || rep.Evidence.Missing != 1 || !strings.Contains(rep.Findings[0].Message, "evidence "+x.bodyB.String()+" is missing") {
			t.Errorf("findings %v, evidence %+v", rep.Findings, rep.Evidence)
		}
	})
	t.Run("after a break", func(t *testing.T) {
		// The checkpoint vouching for the erasure fails (an entry
		// before it deleted): the object is missing, and judged again
		// as if the checkpoint held to count it on the break; that read
		// fails, so it is listed as a failure of its own, and that is
		// said.
		x := newErasedFixture(t)
		x.vouch(x.erase("conv-a", x.msgsA, x.bodyA))
		x.raw(`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 3`)
		x.reopen()
		t.Cleanup(verify.FailLedgerReread(ioErr))
		rep := x.check(verify.Options{})
		if len(rep.Findings) != 2 || rep.Findings[0].Check != verify.CheckEvidence || !strings.Contains(rep.Findings[0].Message, x.bodyA.String()+" is missing") ||
			rep.Findings[1].Check != verify.CheckSequence || rep.Findings[1].ConsequentEvidence != 0 {
			t.Fatalf("findings %v", rep.Findings)
		}
		if len(rep.Unchecked) != 1 || rep.Unchecked[0].Check != verify.CheckEvidence ||
			!strings.Contains(rep.Unchecked[0].Error, "the ledger could not be read again to tell whether the missing object follows from the failure of checkpoint stored #") ||
			!strings.Contains(rep.Unchecked[0].Error, ioErr.Error()) || !strings.Contains(rep.Unchecked[0].Error, "it is listed as a failure of its own") {
			t.Errorf("unchecked %v", rep.Unchecked)
		}
		if rep.Evidence.Missing != 1 || rep.Evidence.Unjudged != 0 || rep.Evidence.NotChecked != 0 {
			t.Errorf("evidence %+v", rep.Evidence)
		}
	})
}
