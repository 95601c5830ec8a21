package verify_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// erasedFixture is a ledger of two conversations, conv-a and conv-b, of
// three messages each sharing one response body, both bodies stored,
// under a signed (routine) checkpoint.
type erasedFixture struct {
	*fixture
	store        evidence.Store
	bodyA, bodyB hashchain.Hash
	msgsA        []string
}

func newErasedFixture(t *testing.T) *erasedFixture {
	t.Helper()
	x := &erasedFixture{fixture: newFixture(t)}
	var err error
	if x.store, err = folder.Open(filepath.Join(t.TempDir(), "evidence"), evidence.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.store.Close() })
	put := func(s string) hashchain.Hash {
		ref, err := x.store.Put(x.ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return ref.Sum
	}
	x.bodyA, x.bodyB = put(`{"entities":["a"]}`), put(`{"entities":["b"]}`)
	var es []leaf.Entry
	for i := range 3 {
		a := message("conv-a", i, x.bodyA)
		x.msgsA = append(x.msgsA, a.MessageID)
		es = append(es, a, message("conv-b", i, x.bodyB))
	}
	if _, err := x.l.Append(x.ctx, es...); err != nil {
		t.Fatal(err)
	}
	x.checkpoint()
	return x
}

// erase deletes sum from the store and appends an erasure entry that
// erases conv and its messages and lists sum as deleted: what anyone who
// can write the ledger file can do, without the signer key. It returns
// the entry's seq.
func (x *erasedFixture) erase(conv string, msgs []string, sum hashchain.Hash) uint64 {
	x.t.Helper()
	if err := x.store.Delete(x.ctx, sum); err != nil {
		x.t.Fatal(err)
	}
	raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{conv}, Messages: msgs, Partial: []string{},
		Erased: []string{sum.String()}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-1"})
	if err != nil {
		x.t.Fatal(err)
	}
	out, err := x.l.Append(x.ctx, leaf.Entry{Kind: leaf.KindErasure, Detail: raw})
	if err != nil {
		x.t.Fatal(err)
	}
	return out[0].Seq
}

// vouch signs a checkpoint vouching for the erasure entry at seq, as
// custody erase does with the signer key.
func (x *erasedFixture) vouch(seq uint64) ledger.StoredCheckpoint {
	x.t.Helper()
	cp, err := x.l.CheckpointErasure(x.ctx, x.signer, seq)
	if err != nil {
		x.t.Fatal(err)
	}
	if !cp.HasErasure || cp.Erasure != seq || !strings.Contains(string(cp.Note), fmt.Sprintf("\nerasure %d\n\n", seq)) {
		x.t.Fatalf("checkpoint vouching for %d: %+v\n%s", seq, cp.Checkpoint, cp.Note)
	}
	return cp
}

func (x *erasedFixture) check(opts verify.Options) verify.Report {
	x.t.Helper()
	opts.Evidence, opts.NoDerive = evidence.ReadOnly(x.store), true
	return x.verify(opts)
}

// wantMissing requires rep to fail with exactly one evidence finding,
// the object sum missing, whose message says each of says.
func wantMissing(t *testing.T, rep verify.Report, sum hashchain.Hash, says ...string) {
	t.Helper()
	if rep.OK || len(rep.Findings) != 1 || rep.Findings[0].Check != verify.CheckEvidence || rep.Evidence.Missing != 1 || rep.Evidence.Erased != 0 {
		t.Fatalf("want one missing object, got %+v, findings %v", rep.Evidence, rep.Findings)
	}
	msg := rep.Findings[0].Message
	if !strings.Contains(msg, "evidence "+sum.String()+" is missing") {
		t.Errorf("finding %q does not name %s missing", msg, sum)
	}
	for _, s := range says {
		if !strings.Contains(msg, s) {
			t.Errorf("finding %q does not say %q", msg, s)
		}
	}
}

// TestErasureNotVouched: an erasure entry no signed checkpoint vouches
// for excuses nothing: not when uncovered, whatever checkpoint file is
// given, and not when a routine checkpoint covers it — anyone who can
// write the ledger file can append the entry, and the next export's
// checkpoint would cover it. The object it lists is missing, and the
// finding says how a genuine erasure is made good. Once a checkpoint
// vouches for it (its "erasure <seq>" line), the object is erased.
func TestErasureNotVouched(t *testing.T) {
	x := newErasedFixture(t)
	old, _, err := x.l.LatestCheckpoint(x.ctx)
	if err != nil {
		t.Fatal(err)
	}
	seq := x.erase("conv-a", x.msgsA, x.bodyA)
	rep := x.check(verify.Options{})
	says := []string{fmt.Sprintf("erasure entry %d lists it as erased, but no signed checkpoint vouches for that erasure", seq),
		fmt.Sprintf("'custody checkpoint --erasure %d'", seq)}
	wantMissing(t, rep, x.bodyA, says...)
	if len(rep.Evidence.ErasedConversations) != 0 {
		t.Errorf("an uncovered erasure's conversations are listed as erased: %v", rep.Evidence.ErasedConversations)
	}
	// A checkpoint kept outside from before the erasure changes nothing.
	rep = x.check(verify.Options{External: []verify.ExternalCheckpoint{{Name: "counsel.checkpoint", Note: old.Note}}})
	wantMissing(t, rep, x.bodyA, says...)

	// Covered by a routine checkpoint, stored and given as a file: still
	// missing, and listed as erased nowhere.
	routine := x.checkpoint()
	if routine.Size <= seq || routine.HasErasure {
		t.Fatalf("routine checkpoint %+v", routine.Checkpoint)
	}
	for _, opts := range []verify.Options{{}, {External: []verify.ExternalCheckpoint{{Name: "routine.checkpoint", Note: routine.Note}}}} {
		rep = x.check(opts)
		wantMissing(t, rep, x.bodyA, says...)
		if len(rep.Evidence.ErasedConversations)+len(rep.Evidence.ErasureEntries) != 0 {
			t.Errorf("an erasure only covered lists its conversations (%v) or itself (%v) as erased", rep.Evidence.ErasedConversations, rep.Evidence.ErasureEntries)
		}
	}

	// Vouched for: erased, not missing.
	cp := x.vouch(seq)
	rep = x.check(verify.Options{})
	if !rep.OK || rep.Evidence.Erased != 1 || rep.Evidence.Missing != 0 || !slices.Equal(rep.Evidence.ErasedConversations, []string{"conv-a"}) ||
		!slices.Equal(rep.Evidence.ErasureEntries, []uint64{seq}) {
		t.Fatalf("covered erasure: %+v %v", rep.Evidence, rep.Findings)
	}
	// Vouched for by a checkpoint file alone (the stored one removed).
	x.raw(`DROP TRIGGER checkpoints_append_only_delete`, fmt.Sprintf(`DELETE FROM checkpoints WHERE id = %d`, cp.ID))
	x.reopen()
	rep = x.check(verify.Options{External: []verify.ExternalCheckpoint{{Name: "counsel.checkpoint", Note: cp.Note}}})
	if rep.Evidence.Erased != 1 || rep.Evidence.Missing != 0 {
		t.Fatalf("erasure vouched for by a checkpoint file: %+v %v", rep.Evidence, rep.Findings)
	}
}

// TestCheckpointErasureRefuses: only an erasure entry inside the ledger
// can be vouched for.
func TestCheckpointErasureRefuses(t *testing.T) {
	x := newErasedFixture(t)
	if _, err := x.l.CheckpointErasure(x.ctx, x.signer, 0); err == nil || !strings.Contains(err.Error(), "entry 0 is a message entry, not an erasure") {
		t.Errorf("a message entry vouched for: %v", err)
	}
	if _, err := x.l.CheckpointErasure(x.ctx, x.signer, 99); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("an entry past the end vouched for: %v", err)
	}
}

// TestErasureOfAnotherObject: a signed erasure entry excuses only an
// object an entry it erases referenced before it, and none an entry
// after it references.
func TestErasureOfAnotherObject(t *testing.T) {
	t.Run("not the erased conversation's", func(t *testing.T) {
		x := newErasedFixture(t)
		seq := x.erase("conv-a", x.msgsA, x.bodyB) // conv-b's body, conv-a erased
		x.vouch(seq)
		wantMissing(t, x.check(verify.Options{}), x.bodyB,
			fmt.Sprintf("erasure entry %d lists it as erased, but no entry before it of a conversation or message it erases references it", seq))
	})
	t.Run("a message not erased", func(t *testing.T) {
		x := newErasedFixture(t)
		// A message of conv-a erased, conv-b's body listed.
		x.vouch(x.erase("conv-none", x.msgsA[:1], x.bodyB))
		wantMissing(t, x.check(verify.Options{}), x.bodyB, "no entry before it of a conversation or message it erases")
	})
	t.Run("one message erased", func(t *testing.T) {
		x := newErasedFixture(t)
		// The body of one erased message, shared with two not erased
		// (collateral): erased.
		x.vouch(x.erase("conv-none", x.msgsA[1:2], x.bodyA))
		if rep := x.check(verify.Options{}); !rep.OK || rep.Evidence.Erased != 1 {
			t.Fatalf("%+v %v", rep.Evidence, rep.Findings)
		}
	})
	t.Run("referenced after", func(t *testing.T) {
		x := newErasedFixture(t)
		seq := x.erase("conv-a", x.msgsA, x.bodyA)
		out, err := x.l.Append(x.ctx, message("conv-c", 0, x.bodyA))
		if err != nil {
			t.Fatal(err)
		}
		x.vouch(seq)
		wantMissing(t, x.check(verify.Options{}), x.bodyA,
			fmt.Sprintf("erasure entry %d lists it as erased, but entry %d, after it, references it", seq, out[0].Seq))
	})
}

// TestErasedProductionManifest: a production's manifest kept as evidence
// that an erasure deleted (it listed the erased messages with plain
// hashes of their texts) is erased, not missing, when the erasure's
// outputs name it with the production entry that references it, a
// signed checkpoint vouching; named with another entry, or not named,
// it is missing.
func TestErasedProductionManifest(t *testing.T) {
	setup := func(t *testing.T) (*erasedFixture, hashchain.Hash, uint64) {
		x := newErasedFixture(t)
		ref, err := x.store.Put(x.ctx, []byte(`{"format":"custody-production/v1","messages":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := leaf.EncodeDetail(&leaf.ProductionDetail{Format: "dat", ManifestEvidenceSHA256: ref.Sum.String(), ManifestSHA256: ref.Sum.String(),
			Selection: leaf.ProductionSelection{Conversations: []string{}}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := x.l.Append(x.ctx, leaf.Entry{Kind: leaf.KindProduction, Detail: raw})
		if err != nil {
			t.Fatal(err)
		}
		return x, ref.Sum, out[0].Seq
	}
	eraseWith := func(x *erasedFixture, man hashchain.Hash, outputs []leaf.ErasedOutput) uint64 {
		for _, h := range []hashchain.Hash{x.bodyA, man} {
			if err := x.store.Delete(x.ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{"conv-a"}, Messages: x.msgsA, Partial: []string{},
			Erased: []string{x.bodyA.String(), man.String()}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-1",
			Outputs: outputs})
		if err != nil {
			t.Fatal(err)
		}
		out, err := x.l.Append(x.ctx, leaf.Entry{Kind: leaf.KindErasure, Detail: raw})
		if err != nil {
			t.Fatal(err)
		}
		x.vouch(out[0].Seq)
		return out[0].Seq
	}
	t.Run("named", func(t *testing.T) {
		x, man, prod := setup(t)
		eraseWith(x, man, []leaf.ErasedOutput{{Seq: prod, Kind: leaf.KindProduction, Name: "prodA", Why: "w", Manifest: man.String()}})
		rep := x.check(verify.Options{})
		if !rep.OK || rep.Evidence.Erased != 2 || rep.Evidence.Missing != 0 {
			t.Fatalf("the deleted manifest, named: %+v %v", rep.Evidence, rep.Findings)
		}
	})
	t.Run("not named", func(t *testing.T) {
		x, man, prod := setup(t)
		eraseWith(x, man, []leaf.ErasedOutput{{Seq: prod, Kind: leaf.KindProduction, Name: "prodA", Why: "w"}})
		wantManifestMissing(t, x.check(verify.Options{}), man)
	})
	t.Run("named with another entry", func(t *testing.T) {
		x, man, prod := setup(t)
		eraseWith(x, man, []leaf.ErasedOutput{{Seq: prod - 1, Kind: leaf.KindProduction, Name: "prodA", Why: "w", Manifest: man.String()}})
		wantManifestMissing(t, x.check(verify.Options{}), man)
	})
}

// wantManifestMissing requires rep to fail with the manifest man missing,
// the erased body excused.
func wantManifestMissing(t *testing.T, rep verify.Report, man hashchain.Hash) {
	t.Helper()
	if rep.OK || len(rep.Findings) != 1 || rep.Evidence.Missing != 1 || rep.Evidence.Erased != 1 ||
		!strings.Contains(rep.Findings[0].Message, "evidence "+man.String()+" is missing") ||
		!strings.Contains(rep.Findings[0].Message, "no entry before it of a conversation or message it erases") {
		t.Fatalf("want the manifest missing, got %+v, findings %v", rep.Evidence, rep.Findings)
	}
}
