package verify_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/verify"
)

// failingStore fails every read after the first few with an I/O error.
type failingStore struct {
	evidence.Store
	reads atomic.Int32
}

var errDisk = errors.New("disk on fire")

func (s *failingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	if s.reads.Add(1) > 3 {
		return nil, fmt.Errorf("evidence: get %s: %w", sum, errDisk)
	}
	return s.Store.Get(ctx, sum)
}

// TestVerifyEvidenceWhileWalking: objects are re-hashed while the walk
// over the entries goes on (one per conversation here, 1,500 of them, more
// than the queue between the two holds); every one is checked and the
// first referencing entry named; a store that cannot be read leaves the
// evidence unchecked, said beside the ledger's checks, which stand.
func TestVerifyEvidenceWhileWalking(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "evidence")
	store, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1500
	var batch []leaf.Entry
	var lost hashchain.Hash
	for i := range n {
		data := fmt.Appendf(nil, `{"entities":[%d]}`, i)
		sum := hashchain.Hash(sha256.Sum256(data))
		if i != 1300 {
			// Written as Put lays them out, without its fsyncs.
			p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o444); err != nil {
				t.Fatal(err)
			}
		} else {
			lost = sum
		}
		batch = append(batch, message(fmt.Sprintf("conv-%d", i), 0, sum), message(fmt.Sprintf("conv-%d", i), 1, sum))
	}
	if _, err := f.l.Append(f.ctx, batch...); err != nil {
		t.Fatal(err)
	}
	f.checkpoint()
	rep := f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: true})
	if rep.OK || len(rep.Findings) != 1 || *rep.Findings[0].Seq != 2600 || rep.Evidence.Referenced != n || rep.Evidence.Missing != 1 {
		t.Fatalf("one object lost of %d: %+v %+v", n, rep.Evidence, rep.Findings)
	}
	if want := "evidence " + lost.String() + " is missing"; len(rep.Findings[0].Message) < len(want) || rep.Findings[0].Message[:len(want)] != want {
		t.Errorf("finding %q, want it to start %q", rep.Findings[0].Message, want)
	}

	// A store without Open (read whole through Get) that breaks midway:
	// the ledger's checks are reported, and what the evidence check found
	// before it stopped (after 64 objects in a row it could not read),
	// the rest as not checked, why first.
	unreadable := func(what string, opts verify.Options) verify.Report {
		t.Helper()
		rep, err := verify.Ledger(f.ctx, f.l, opts)
		if err != nil {
			t.Fatalf("%s: err = %v; want the report, the evidence not checked", what, err)
		}
		if rep.OK || rep.Holds() || rep.Evidence == nil || !rep.Evidence.Stopped || rep.Evidence.NotChecked < 64 || rep.Entries != 2*n || rep.Root == "" ||
			len(rep.Unchecked) == 0 || rep.Unchecked[0].Check != verify.CheckEvidence ||
			!strings.Contains(rep.Unchecked[0].Error, "stopped after 64 objects in a row could not be read") || !strings.Contains(rep.Unchecked[0].Error, errDisk.Error()) {
			t.Fatalf("%s: ok %v, %d entries, root %q, evidence %+v, unchecked %+v; want the ledger's checks and the evidence check stopped (%v)",
				what, rep.OK, rep.Entries, rep.Root, rep.Evidence, rep.Unchecked, errDisk)
		}
		return rep
	}
	if rep := unreadable("store failing midway", verify.Options{VerifierKey: f.l.VerifierKey(), Evidence: &failingStore{Store: store}, NoDerive: true}); len(rep.Findings) != 0 {
		t.Errorf("store failing midway: %d findings, first %s; want none (the ledger holds, its evidence unread)", len(rep.Findings), rep.First())
	}

	// With re-derivation (a pipeline of stages, objects handed from the
	// hashing to the derive stage): the bodies are no messages responses,
	// so every message is a derived finding, and the one lost object is
	// still the evidence finding it was. No conversation entry comes
	// before the two messages whose body is lost either: a finding of
	// each, which needs no body.
	rep = f.verify(verify.Options{Evidence: evidence.ReadOnly(store), MaxFindings: 10_000})
	var lostSeen, derived int
	for _, x := range rep.Findings {
		switch x.Check {
		case verify.CheckEvidence:
			lostSeen++
		case verify.CheckDerived:
			derived++
		}
	}
	if lostSeen != 1 || derived != 2*n || rep.Derived.Unavailable != 2 {
		t.Fatalf("with re-derivation: %d evidence and %d derived findings, %d unavailable; want 1, %d, 2", lostSeen, derived, rep.Derived.Unavailable, 2*n)
	}
	// … and a store breaking midway leaves the evidence unchecked, no
	// stage left waiting for an object the stopped hashing never read.
	unreadable("store failing midway, with re-derivation", verify.Options{VerifierKey: f.l.VerifierKey(), Evidence: &failingStore{Store: store}})
}
