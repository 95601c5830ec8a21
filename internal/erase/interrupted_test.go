package erase_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/killtest"
)

// TestMain runs the erase helper when the test binary is started as one
// (TestEraseKilledThenAgain).
func TestMain(m *testing.M) { killtest.Main(m, killHelperEnv, killHelper) }

const killHelperEnv = "CUSTODY_ERASE_KILL_HELPER"

// killHelper erases KILL_CONV (or the message KILL_MSG) from the matter
// in KILL_DIR and kills its own process (SIGKILL: no deferred cleanup)
// right after the second object (KILL_AFTER-th, for a message) is
// deleted: an erasure cut between deletion and its entry.
func killHelper() int {
	ctx := context.Background()
	dir := os.Getenv("KILL_DIR")
	l, st, err := killtest.OpenDir(ctx, dir, ledger.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kill := &afterDeletes{Store: st, after: 2, then: killtest.Die}
	req := erase.Request{Reason: "DSR-1", Operator: "dpo"}
	if c := os.Getenv("KILL_CONV"); c != "" {
		req.Conversations = []string{c}
	}
	if m := os.Getenv("KILL_MSG"); m != "" {
		// A message: its opening first, then the bodies that hold it.
		req.Messages = []string{m}
		if n, err := strconv.Atoi(os.Getenv("KILL_AFTER")); err == nil {
			kill.after = int32(n)
		}
	}
	_, err = erase.Erase(ctx, l, kill, req)
	fmt.Fprintln(os.Stderr, "erase returned:", err)
	return 1
}

// afterDeletes deletes, and once the after-th deletion is done calls
// then (kills the process, or cancels the erasure).
type afterDeletes struct {
	evidence.Store
	after int32
	n     atomic.Int32
	then  func()
}

func (s *afterDeletes) Delete(ctx context.Context, sum hashchain.Hash) error {
	err := s.Store.Delete(ctx, sum)
	if s.n.Add(1) == s.after {
		s.then()
	}
	return err
}

// TestEraseKilledThenAgain: an erasure killed (SIGKILL) after deleting
// some evidence and before its entry leaves the objects gone and
// unrecorded, and verify reports them missing; the same erase run again
// deletes the rest and records it, and verify passes with the
// conversation erased and its text in no file. docs/erase.md promises it.
func TestEraseKilledThenAgain(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	target := free[0]
	needles := secrets(t, m.srv.Org, target, false)
	entries := m.size(t)

	killtest.Run(t, killHelperEnv, "KILL_DIR="+m.le.Dir, "KILL_CONV="+target)
	if got := m.size(t); got != entries {
		t.Fatalf("the killed erasure appended: %d entries, had %d", got, entries)
	}
	if rep := m.verify(t); rep.OK || rep.Evidence.Missing == 0 {
		t.Fatalf("verify after a killed erasure: ok %v, evidence %+v: the missing objects must be findings", rep.OK, rep.Evidence)
	}

	m.eraseAgain(t, erase.Request{Conversations: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}, needles, nil)
}

// eraseAgain runs req, an erasure cut short before, to its end: it must
// succeed, delete what was left and keep nothing for a failed delete;
// then verify passes with req's conversation erased, and none of needles
// (its text) is in any file of the matter. first is what the run cut
// short recorded (nil if nothing): the second entry names only the
// objects it did not.
func (m *matter) eraseAgain(t *testing.T, req erase.Request, needles []string, first *erase.Result) {
	t.Helper()
	res, err := erase.Erase(context.Background(), m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatalf("the same erase again: %v", err)
	}
	if len(res.Detail.Erased) == 0 || slices.ContainsFunc(res.Detail.Kept, notDeleted) || res.Already {
		t.Errorf("second run: erased %d objects, kept %v, already %v", len(res.Detail.Erased), res.Detail.Kept, res.Already)
	}
	if first != nil {
		for _, o := range res.Detail.Erased {
			if slices.Contains(first.Detail.Erased, o) {
				t.Errorf("second run: object %s recorded as erased again (entry %d erased it)", o, first.Seq)
			}
		}
	}
	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || !slices.Equal(rep.Evidence.ErasedConversations, req.Conversations) {
		t.Fatalf("verify after the erase ran again: ok %v, findings %v, evidence %+v", rep.OK, rep.Findings, rep.Evidence)
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) != 0 {
		t.Errorf("the erased conversation's text is still in %v", hits)
	}
}

// TestEraseRefusesReadOnlyLedger: on a ledger opened read-only the
// erasure could not be recorded, so nothing is deleted.
func TestEraseRefusesReadOnlyLedger(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	ro, err := ledger.Open(ctx, filepath.Join(m.le.Dir, "custody.db"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, err = erase.Erase(ctx, ro, m.le.Store, erase.Request{Conversations: []string{free[0]}, Reason: "r", Operator: "dpo"})
	if !errors.Is(err, ledger.ErrReadOnly) {
		t.Fatalf("erase on a read-only ledger: %v, want ErrReadOnly", err)
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Missing != 0 {
		t.Fatalf("a refused erasure deleted something: %v %+v", rep.Findings, rep.Evidence)
	}
}

// TestEraseDoneThenAgain: the same erase run again after it was done —
// its output lost to a crash after the entry, say — deletes and records
// nothing, and says which entry erased it: the erasure is in the ledger
// once, and readers keep naming the entry that did it.
func TestEraseDoneThenAgain(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	ctx := context.Background()
	req := erase.Request{Conversations: []string{free[0]}, Messages: []string{}, Reason: "DSR-3", Operator: "dpo", SignerKey: m.le.Key}
	restored := map[hashchain.Hash][]byte{} // every object before the erasure, to put one back
	if err := m.le.Store.Walk(ctx, func(h hashchain.Hash) error {
		b, err := m.le.Store.Get(ctx, h)
		restored[h] = b
		return err
	}); err != nil {
		t.Fatal(err)
	}
	first, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatal(err)
	}
	entries := m.size(t)
	again, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatalf("the same erase again: %v", err)
	}
	if got := m.size(t); got != entries {
		t.Errorf("the erase run again after it was done appended %d entries", got-entries)
	}
	if !again.Already || again.Seq != first.Seq || len(again.Detail.Erased) != 0 {
		t.Errorf("the erase run again: already %v, seq %d (first: %d), erased %d objects", again.Already, again.Seq, first.Seq, len(again.Detail.Erased))
	}
	if rep := m.verify(t); !rep.OK {
		t.Errorf("verify: %v", rep.Findings)
	}

	// An erased object put back (a restore from a backup) is deleted
	// again by the same erase, and recorded anew.
	if len(first.Detail.Erased) == 0 {
		t.Fatal("the first erase deleted nothing")
	}
	h, err := hashchain.ParseHash(first.Detail.Erased[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.le.Store.Put(ctx, restored[h]); err != nil {
		t.Fatal(err)
	}
	third, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
	if err != nil {
		t.Fatalf("the same erase with an erased object back: %v", err)
	}
	if third.Already || !slices.Equal(third.Detail.Erased, []string{first.Detail.Erased[0]}) {
		t.Errorf("the same erase with an erased object back: already %v, erased %v, want %s", third.Already, third.Detail.Erased, first.Detail.Erased[0])
	}
	if ok, err := m.le.Store.Exists(ctx, h); err != nil || ok {
		t.Errorf("the object put back is still there (%v)", err)
	}
}

func notDeleted(k leaf.ErasedKept) bool { return strings.HasPrefix(k.Why, "not deleted: ") }

// TestEraseCancelledThenAgain: an erasure cancelled in the middle of its
// deletions, then run again, ends with every object of the conversation
// gone and verify passing. The cancelled run records what it deleted
// and returns an error: an erasure cut short is not reported done. From
// a store that keeps requests in flight (S3), deletions run several at a
// time: cancelled after the second (an opening: openings go first), the
// deletions already under way finish and are recorded too, and every
// deletion tried is recorded as erased or not deleted.
func TestEraseCancelledThenAgain(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			m := exportMatter(t, 14)
			free, _ := m.conversations(t)
			target := free[0]
			needles := secrets(t, m.srv.Org, target, false)
			req := erase.Request{Conversations: []string{target}, Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ad := &afterDeletes{Store: m.le.Store, after: 2, then: cancel}
			var st evidence.Store = ad
			if parallel {
				st = parallelDeletes{ad}
			}
			res, err := erase.Erase(ctx, m.le.Ledger, st, req)
			// What it deleted is recorded, what it did not is kept "not
			// deleted", and the caller is told the erasure is not finished.
			if err == nil || res == nil || len(res.Detail.Erased) < 2 || !parallel && len(res.Detail.Erased) != 2 ||
				!slices.ContainsFunc(res.Detail.Kept, notDeleted) || !strings.Contains(err.Error(), "run the same erase again") {
				t.Fatalf("cancelled erase: err %v, result %+v", err, res)
			}
			if kept := countKept(res.Detail.Kept, notDeleted); int(ad.n.Load()) != len(res.Detail.Erased)+kept {
				t.Errorf("%d deletions tried, %d recorded as erased and %d as not deleted", ad.n.Load(), len(res.Detail.Erased), kept)
			}

			m.eraseAgain(t, req, needles, res)
		})
	}
}

// parallelDeletes is afterDeletes on a store that asks for 16 requests in
// flight (evidence.Parallel), as S3 does: erase deletes several at once.
type parallelDeletes struct{ *afterDeletes }

func (parallelDeletes) Parallelism() int { return 16 }

func countKept(ks []leaf.ErasedKept, f func(leaf.ErasedKept) bool) int {
	n := 0
	for _, k := range ks {
		if f(k) {
			n++
		}
	}
	return n
}
