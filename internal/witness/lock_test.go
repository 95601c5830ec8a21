package witness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
)

// twoForks is a log and a fork of it: the same first 5 leaves, then other
// ones, so both sign a checkpoint of size 8 with different roots.
func twoForks(t *testing.T) (*testLog, *testLog) {
	l := newLog(t, "custody/test-1", 8, "a")
	fork := newLog(t, "custody/test-1", 0, "")
	fork.skey, fork.vkey = l.skey, l.vkey
	fork.leaves = append([]hashchain.Hash(nil), l.leaves[:5]...)
	fork.grow(3, "b")
	return l, fork
}

// Two witness processes on one state folder (two Witness values here:
// flock excludes two open files even in one process) are asked for two
// forks of the same size, the second while the first is between loading
// the state and saving it. At most one fork is cosigned: the second
// witness finds the state in use and is refused (on the old code both
// were cosigned, a split view signed by the witness).
func TestTwoWitnessesOneStateCosignOneFork(t *testing.T) {
	l, fork := twoForks(t)
	skey, _, _ := GenerateKey("w.example")
	dir := t.TempDir()
	w1, _ := New(skey, []string{l.vkey}, dir)
	w2, _ := New(skey, []string{l.vkey}, dir)
	defer w1.Close()
	defer w2.Close()
	if _, err := w1.Add(Request{Checkpoint: l.checkpoint(5)}); err != nil {
		t.Fatal(err)
	}
	w2.lockWait = 0 // no wait: w1 is stopped inside Add until w2 returns
	var err2 error
	cosigned := 0
	testAfterLoad = func() {
		testAfterLoad = nil
		if _, err2 = w2.Add(Request{OldSize: 5, Proof: fork.proof(5, 8), Checkpoint: fork.checkpoint(8)}); err2 == nil {
			cosigned++
		}
	}
	defer func() { testAfterLoad = nil }()
	if _, err := w1.Add(Request{OldSize: 5, Proof: l.proof(5, 8), Checkpoint: l.checkpoint(8)}); err == nil {
		cosigned++
	}
	if cosigned != 1 {
		t.Fatalf("%d forks of size 8 cosigned, want 1 (second witness: %v)", cosigned, err2)
	}
	var inUse *StateInUseError
	if !errors.As(err2, &inUse) || inUse.Holder == nil || inUse.Holder.PID != os.Getpid() {
		t.Fatalf("second witness: err = %v, want the state in use by pid %d", err2, os.Getpid())
	}
	if !strings.Contains(err2.Error(), "the witness state is in use by pid") {
		t.Fatalf("message %q does not name the holder's pid", err2)
	}
	// Once the first has let go, the second sees its state and refuses
	// the fork as one.
	if _, err := w2.Add(Request{OldSize: 8, Checkpoint: fork.checkpoint(8)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("fork after the first witness saved: err = %v, want a conflict", err)
	}
}

// A witness that holds its state for its lifetime (witness serve) makes a
// second one refuse to start, and a cosign on the same folder refused
// naming it; once it stops, the state is free.
func TestHoldExcludesAnotherWitness(t *testing.T) {
	l, fork := twoForks(t)
	skey, _, _ := GenerateKey("w.example")
	dir := t.TempDir()
	serve, _ := New(skey, []string{l.vkey}, dir)
	if err := serve.Hold("custody witness serve", 0); err != nil {
		t.Fatal(err)
	}
	other, _ := New(skey, []string{l.vkey}, dir)
	err := other.Hold("custody witness serve", 0)
	var inUse *StateInUseError
	if !errors.As(err, &inUse) || inUse.Holder == nil || inUse.Holder.Command != "custody witness serve" {
		t.Fatalf("second serve: err = %v, want the state in use by the first", err)
	}
	if _, err := serve.Add(Request{Checkpoint: l.checkpoint(8)}); err != nil {
		t.Fatal(err)
	}
	other.lockWait = 0
	if _, err := other.Add(Request{Checkpoint: fork.checkpoint(8)}); !errors.As(err, &inUse) {
		t.Fatalf("cosign beside serve: err = %v, want the state in use", err)
	}
	if err := serve.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, LockFile)); len(b) != 0 {
		t.Fatalf("lock file after release holds %q, want it empty", b)
	}
	if err := other.Hold("custody witness cosign", time.Second); err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	defer other.Close()
	if _, err := other.Add(Request{OldSize: 8, Checkpoint: fork.checkpoint(8)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("fork: err = %v, want a conflict", err)
	}
}
