package verify_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/verify"
)

// untimedWarnings returns the timestamp warnings of rep that name
// checkpoints carrying no token.
func untimedWarnings(rep verify.Report) []string {
	var out []string
	for _, w := range rep.Warnings {
		if w.Check == verify.CheckTimestamp && strings.Contains(w.Message, "carr") && strings.Contains(w.Message, "no timestamp token") {
			out = append(out, w.Message)
		}
	}
	return out
}

// deleteTimestamps deletes the timestamp rows of the checkpoints ids
// (every row when none is given), as someone who can write the ledger
// file can.
func (a *attestFixture) deleteTimestamps(ids ...int64) {
	a.t.Helper()
	where := ""
	if len(ids) > 0 {
		var s []string
		for _, id := range ids {
			s = append(s, fmt.Sprint(id))
		}
		where = " WHERE checkpoint_id IN (" + strings.Join(s, ",") + ")"
	}
	a.raw(`DROP TRIGGER IF EXISTS checkpoint_timestamps_append_only_delete`, `DELETE FROM checkpoint_timestamps`+where)
	a.reopen()
}

// tsaOpts is opts without the witness, which cosigned the first two
// checkpoints alone.
func (a *attestFixture) tsaOpts() verify.Options {
	return verify.Options{TSARoots: a.opts().TSARoots}
}

// removeTSA appends the settings entry checkpoint --remove-tsa appends
// (the authority off, none left) and signs the checkpoint covering it,
// which is sent to no authority.
func (a *attestFixture) removeTSA() uint64 {
	a.t.Helper()
	raw, err := leaf.EncodeDetail(&leaf.SettingsDetail{Setting: leaf.SettingTSA, Action: leaf.SettingsRemove, URLs: []string{a.tsa.URL}, Now: []string{}, Operator: "u"})
	if err != nil {
		a.t.Fatal(err)
	}
	out, err := a.l.Append(a.ctx, leaf.Entry{Kind: leaf.KindSettings, Detail: raw})
	if err != nil {
		a.t.Fatal(err)
	}
	a.checkpoint()
	return out[0].Seq
}

// TestVerifyUntimedCheckpoints: with --tsa-roots, a stored checkpoint
// with neither a token nor a recorded gap is a timestamp warning naming
// it, one for all of them, saying what the ledger's own records show of
// the authorities then; not a failure. Before, deleting every token
// left verify silent: OK, no warning, no time. The appendix verifier
// gives the same warning, naming each checkpoint (it said nothing).
func TestVerifyUntimedCheckpoints(t *testing.T) {
	python := independentVerifier(t)
	// appendixSays checks the appendix verifier's verdict, OK, and that
	// with --tsa-roots it warns "WARN timestamp: " + want (want "": no
	// such warning); without roots it never does.
	appendixSays := func(t *testing.T, a *attestFixture, want string) {
		t.Helper()
		if python == nil {
			return
		}
		out, err := python("ledger", a.path, a.l.VerifierKey(), "--tsa-roots", a.roots)
		if err != nil || !strings.HasPrefix(out, "OK ") {
			t.Fatalf("the appendix verifier: %v\n%s", err, out)
		}
		if got := strings.Contains(out, "\nWARN timestamp: "+want); want != "" && !got || want == "" && strings.Contains(out, "no timestamp token") {
			t.Errorf("the appendix verifier with --tsa-roots says\n%s\nwant WARN timestamp: %q", out, want)
		}
		if out, _ := python("ledger", a.path, a.l.VerifierKey()); strings.Contains(out, "carry no timestamp token") || strings.Contains(out, "carries no timestamp token") {
			t.Errorf("the appendix verifier without roots says\n%s", out)
		}
	}
	t.Run("every token deleted", func(t *testing.T) {
		a := newAttestFixture(t)
		if rep := a.verify(a.opts()); len(untimedWarnings(rep)) != 0 {
			t.Fatalf("untouched: %v", rep.Warnings)
		}
		appendixSays(t, a, "")
		a.deleteTimestamps()
		rep := a.verify(a.opts())
		if !rep.OK || len(rep.CheckpointTimes) != 0 {
			t.Fatalf("a missing token is no failure: %v, times %+v", rep.Findings, rep.CheckpointTimes)
		}
		got := untimedWarnings(rep)
		if len(got) != 1 || !strings.HasPrefix(got[0], "2 stored checkpoints carry no timestamp token (checkpoints #1, #2): their times are not proven") {
			t.Fatalf("warnings %v", rep.Warnings)
		}
		appendixSays(t, a, "2 stored checkpoints carry no timestamp token (checkpoints #1, #2): their times are not proven")
		// Without --tsa-roots no time is proven anyway: nothing more said.
		if rep := a.verify(verify.Options{}); len(untimedWarnings(rep)) != 0 {
			t.Fatalf("without roots: %v", rep.Warnings)
		}
	})
	t.Run("one token deleted", func(t *testing.T) {
		a := newAttestFixture(t)
		a.deleteTimestamps(2)
		rep := a.verify(a.opts())
		got := untimedWarnings(rep)
		want := "checkpoint #2 (size 7) carries no timestamp token: its time is not proven; the ledger's own records show the timestamp authority " +
			a.tsa.URL + " configured when it was signed"
		if !rep.OK || len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "yet it carries neither a token nor a recorded gap from it") {
			t.Fatalf("warnings %v\nwant %q…", rep.Warnings, want)
		}
		appendixSays(t, a, "checkpoint #2 (size 7) carries no timestamp token: its time is not proven")
	})
	t.Run("authority removed", func(t *testing.T) {
		a := newAttestFixture(t)
		seq := a.removeTSA()
		rep := a.verify(a.tsaOpts())
		got := untimedWarnings(rep)
		want := fmt.Sprintf("checkpoint #3 (size 8) carries no timestamp token: its time is not proven; it was signed after the settings entry at seq %d left the matter no timestamp authority", seq)
		if !rep.OK || len(got) != 1 || got[0] != want {
			t.Fatalf("warnings %v\nwant %q", rep.Warnings, want)
		}
		a.deleteTimestamps()
		rep = a.verify(a.tsaOpts())
		got = untimedWarnings(rep)
		want = fmt.Sprintf("3 stored checkpoints carry no timestamp token (checkpoints #1 to #3): their times are not proven; "+
			"the settings entry at seq %d took %s off the matter, so it was configured until then (since when, the ledger does not record): checkpoints #1, #2, signed before that, carry neither a token nor a recorded gap from it; "+
			"checkpoint #3 was signed after the settings entry at seq %d left the matter no timestamp authority", seq, a.tsa.URL, seq)
		if !rep.OK || len(got) != 1 || got[0] != want {
			t.Fatalf("warnings %v\nwant %q", rep.Warnings, want)
		}
	})
	t.Run("many", func(t *testing.T) {
		// One warning however many: at most ten runs named, the rest counted.
		a := newAttestFixture(t)
		for range 22 {
			a.appendN(1)
			a.stamp(a.checkpoint(), false)
		}
		var even []int64
		for id := int64(2); id <= 24; id += 2 {
			even = append(even, id)
		}
		a.deleteTimestamps(even...)
		rep := a.verify(a.tsaOpts())
		got := untimedWarnings(rep)
		if !rep.OK || len(got) != 1 ||
			!strings.HasPrefix(got[0], "12 stored checkpoints carry no timestamp token (checkpoints #2, #4, #6, #8, #10, #12, #14, #16, #18, #20 and 2 more): their times are not proven; the ledger's own records show") {
			t.Fatalf("warnings %v", rep.Warnings)
		}
		appendixSays(t, a, "12 stored checkpoints carry no timestamp token (checkpoints #2, #4, #6, #8, #10, #12, #14, #16, #18, #20, #22, #24): their times are not proven")
	})
}
