package produce_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
	"github.com/custodyhq/custody/internal/testutil/killtest"
	"github.com/custodyhq/custody/internal/verify"
)

// killHelperEnv makes the test binary a production that kills itself
// (SIGKILL: no deferred cleanup) at the point KILL_AT names:
//
//   - "checkpoint": once the checkpoint over its production entry is
//     stored (the fixture's checkpoint covers every message, so it is the
//     only one signed) — recorded, before the proof and the rename;
//   - "evidence": at its first evidence read — building, nothing recorded.
const killHelperEnv = "CUSTODY_PRODUCE_KILL_HELPER"

func TestMain(m *testing.M) { killtest.Main(m, killHelperEnv, killHelper) }

func killHelper() int {
	ctx := context.Background()
	dir := os.Getenv("KILL_DIR")
	opts := ledger.Options{}
	if os.Getenv("KILL_AT") == "checkpoint" {
		opts.AfterCheckpoint = func(context.Context, ledger.StoredCheckpoint) { killtest.Die() }
	}
	l, st, err := killtest.OpenDir(ctx, dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv("KILL_AT") == "evidence" {
		st = killtest.DyingStore{Store: st}
	}
	_, err = produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: os.Getenv("KILL_OUT"), Format: produce.FormatBoth,
		SignerKey: os.Getenv("KILL_KEY"), VerifierKey: l.VerifierKey()})
	fmt.Fprintln(os.Stderr, "produce returned:", err)
	return 1
}

// runKilled runs the kill helper on the matter in dir, producing into
// out, and checks that it was killed.
func runKilled(t *testing.T, dir, out, key, at string) {
	t.Helper()
	killtest.Run(t, killHelperEnv, "KILL_DIR="+dir, "KILL_OUT="+out, "KILL_KEY="+key, "KILL_AT="+at)
}

// reopen opens the matter in dir again after the helper was killed; it
// is closed when t ends.
func reopen(t *testing.T, dir string) (*ledger.Ledger, evidence.Store) {
	t.Helper()
	l, st, err := killtest.OpenDir(context.Background(), dir, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, st
}

// productionSeqs lists the production entries of l.
func productionSeqs(t *testing.T, l *ledger.Ledger) []uint64 {
	t.Helper()
	var seqs []uint64
	for e, err := range l.Entries(context.Background(), ledger.Filter{Kind: leaf.KindProduction}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

// hidden lists what in out's parent is named like produce's temporary
// folders for out.
func hidden(t *testing.T, out string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "."+filepath.Base(out)+".produce-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// checkProduced checks that out holds the one production entry of l,
// and that it verifies against the ledger.
func checkProduced(t *testing.T, l *ledger.Ledger, out string, res *produce.Result) {
	t.Helper()
	seqs := productionSeqs(t, l)
	if len(seqs) != 1 {
		t.Fatalf("production entries %v, want one", seqs)
	}
	if res.Seq != seqs[0] {
		t.Errorf("the run reports production entry %d, the ledger holds %d", res.Seq, seqs[0])
	}
	rep, err := verify.Production(context.Background(), out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
	if err != nil || !rep.OK || !rep.InLedger || rep.ProductionSeq != seqs[0] {
		t.Fatalf("verify --production: %+v %v", rep, err)
	}
	if left := hidden(t, out); len(left) > 0 {
		t.Errorf("left beside %s: %v", out, left)
	}
}

// TestProduceKilledAfterRecordingThenAgain: a production killed (SIGKILL)
// after its entry was appended and the checkpoint over it signed — before
// its proof and the rename onto --out — is finished by the same produce
// run again: the ledger holds one production entry, --out holds it and
// verifies, nothing is left beside it. (It was left in a hidden folder
// for ever, and the rerun recorded a second production.)
func TestProduceKilledAfterRecordingThenAgain(t *testing.T) {
	dir := t.TempDir()
	l, _, key := fixture(t, dir, 3, 4)
	l.Close()
	out := filepath.Join(t.TempDir(), "prod")
	runKilled(t, dir, out, key, "checkpoint")

	ctx := context.Background()
	l, st := reopen(t, dir)
	seqs := productionSeqs(t, l)
	if len(seqs) != 1 {
		t.Fatalf("the killed production recorded %v, want one entry", seqs)
	}
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the killed production is at --out already: %v", err)
	}
	if left := hidden(t, out); len(left) != 1 {
		t.Fatalf("the killed production left %v", left)
	}
	before, _ := l.Head(ctx)

	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatalf("the same produce again: %v", err)
	}
	if !res.Completed || res.Seq != seqs[0] {
		t.Errorf("completed %v entry %d, want the earlier run's entry %d completed", res.Completed, res.Seq, seqs[0])
	}
	if after, _ := l.Head(ctx); after.Size != before.Size {
		t.Errorf("finishing the production grew the ledger from %d to %d entries", before.Size, after.Size)
	}
	checkProduced(t, l, out, res)
}

// TestProduceKilledBeforeRecordingThenAgain: a production killed while
// it is built, before anything is recorded, leaves a hidden folder that
// the same produce run again removes (this matter's, never recorded)
// before producing and recording one production.
func TestProduceKilledBeforeRecordingThenAgain(t *testing.T) {
	dir := t.TempDir()
	l, _, key := fixture(t, dir, 3, 4)
	l.Close()
	out := filepath.Join(t.TempDir(), "prod")
	runKilled(t, dir, out, key, "evidence")

	ctx := context.Background()
	l, st := reopen(t, dir)
	if seqs := productionSeqs(t, l); len(seqs) != 0 {
		t.Fatalf("the production killed while built recorded %v", seqs)
	}
	left := hidden(t, out)
	if len(left) != 1 {
		t.Fatalf("the killed production left %v", left)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatalf("the same produce again: %v", err)
	}
	if res.Completed {
		t.Error("a production never recorded was 'completed'")
	}
	if len(res.Removed) != 1 || filepath.Base(res.Removed[0]) != left[0] {
		t.Errorf("removed %v, want %s", res.Removed, left[0])
	}
	checkProduced(t, l, out, res)
}

// TestProduceRecordedUncheckpointedThenAgain: a production whose entry
// was appended but that could not sign the checkpoint over it keeps its
// folder (it was removed, with the entry naming it); produce run again
// with the key signs the checkpoint, writes the proof and puts it in
// place, recording nothing more.
func TestProduceRecordedUncheckpointedThenAgain(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 3)
	defer l.Close()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "prod")
	_, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, VerifierKey: l.VerifierKey()})
	if err == nil || !strings.Contains(err.Error(), "was recorded") {
		t.Fatalf("produce without a signer key: %v, want the entry recorded and the checkpoint refused", err)
	}
	if left := hidden(t, out); len(left) != 1 || !strings.Contains(left[0], ".entry-") {
		t.Fatalf("the recorded production's folder: %v", left)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatalf("the same produce again, with the key: %v", err)
	}
	if !res.Completed {
		t.Error("not reported as completed")
	}
	checkProduced(t, l, out, res)
}

// TestProduceLeavesOthersAlone: what is beside --out and not provably
// produce's leftover of this matter for this --out is never touched:
// another matter's folder, a link, another --out's folder, a name that
// only looks alike.
func TestProduceLeavesOthersAlone(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 3)
	defer l.Close()
	ctx := context.Background()
	parent := t.TempDir()
	out := filepath.Join(parent, "prod")
	other := filepath.Join(parent, ".prod.produce-0123456789abcdef.building")
	if err := os.MkdirAll(filepath.Join(other, "proofs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "custody.pub"), []byte("another-matter+01234567+AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(parent, ".prod.produce-00000000000000ff.building")
	link := filepath.Join(parent, ".prod.produce-fedcba9876543210.entry-3")
	for _, d := range []string{empty, filepath.Join(parent, ".prod2.produce-0123456789abcdef.building"), filepath.Join(parent, ".prod.produce-0123.building"), filepath.Join(parent, "keep")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(parent, "keep"), link); err != nil {
		t.Fatal(err)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed || len(res.Removed) != 0 {
		t.Errorf("completed %v, removed %v: want a new production, nothing removed", res.Completed, res.Removed)
	}
	if len(res.Kept) != 3 {
		t.Errorf("reported as left alone: %v, want the other matter's folder, the empty one and the link", res.Kept)
	}
	if names := dirtest.Names(t, parent); len(names) != 7 {
		t.Errorf("the folder holds %v, want everything left alone and prod", names)
	}
	if _, err := os.Stat(filepath.Join(other, "custody.pub")); err != nil {
		t.Errorf("another matter's folder was touched: %v", err)
	}
}

// TestProduceClaimNeverCommittedSeqTakenLater: a run into --out renamed
// its folder .entry-N and was killed (or lost to a power cut) before the
// transaction appending entry N committed; entry N was then taken by a
// production of the same selection into another folder, whose manifest is
// the same bytes. The rerun into --out must not take the leftover for
// entry N (it was never recorded): it removes it and records a
// production of its own. (It "completed" entry N, recording nothing, so
// the production in --out was in the ledger only as another folder's.)
func TestProduceClaimNeverCommittedSeqTakenLater(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 3)
	defer l.Close()
	ctx := context.Background()
	parent := t.TempDir()
	out := filepath.Join(parent, "prod")
	elsewhere := filepath.Join(t.TempDir(), "delivered")
	first, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: elsewhere, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	// What the run into out, killed between its rename and its commit,
	// left: the same files (the same selection and ledger: the same
	// manifest), no proof, named for the seq the other run then took.
	left := filepath.Join(parent, fmt.Sprintf(".prod.produce-0123456789abcdef.entry-%d", first.Seq))
	if err := os.CopyFS(left, os.DirFS(elsewhere)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(left, "production.proof.json")); err != nil {
		t.Fatal(err)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: key, VerifierKey: l.VerifierKey()})
	if err != nil {
		t.Fatalf("produce into %s: %v", out, err)
	}
	if res.Completed || res.Seq == first.Seq {
		t.Fatalf("completed %v entry %d: the leftover never recorded was taken for entry %d, delivered in %s", res.Completed, res.Seq, first.Seq, elsewhere)
	}
	if len(res.Removed) != 1 || res.Removed[0] != left {
		t.Errorf("removed %v, want %s", res.Removed, left)
	}
	if seqs := productionSeqs(t, l); len(seqs) != 2 {
		t.Errorf("production entries %v, want the delivered one and this run's", seqs)
	}
}

// Two copies of one matter (two ledgers, two writer locks) producing into
// one folder: while the folder's lock is held, produce refuses at once and
// creates nothing; once it is let go, the production runs, and no lock
// file is left beside it (a stale one, as a kill -9 leaves, included).
func TestProduceOutLocked(t *testing.T) {
	m := capture(t, 10)
	parent := t.TempDir()
	out := filepath.Join(parent, "p")
	lockFile := filepath.Join(parent, ".p.produce.lock")
	f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := fsinfo.TryLock(f); err != nil || !ok {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	if _, err := m.produce(t, out, produce.Options{}); !errors.Is(err, produce.ErrOutBusy) {
		t.Fatalf("produce into a locked folder: err %v, want ErrOutBusy", err)
	} else if !strings.Contains(err.Error(), lockFile) {
		t.Errorf("error %q does not name the lock file %s", err, lockFile)
	}
	if names := dirtest.Names(t, parent); !slices.Equal(names, []string{".p.produce.lock"}) {
		t.Errorf("the refused production left %v beside the lock", names)
	}
	if err := fsinfo.Unlock(f); err != nil {
		t.Fatal(err)
	}
	if _, err := m.produce(t, out, produce.Options{}); err != nil {
		t.Fatalf("produce once the lock was let go: %v", err)
	}
	if names := dirtest.Names(t, parent); !slices.Equal(names, []string{"p"}) {
		t.Errorf("beside the production: %v, want only p", names)
	}
}

// TestProduceKeepsLegacyLeftoverWithUnreadableManifest: a folder left by
// an earlier custody version (no claim in its name) whose manifest is
// there but cannot be read may be a recorded, delivered production: it
// is refused and kept, never removed as "never recorded" on a guess. One
// with no manifest at all (killed before it was written) is removed.
func TestProduceKeepsLegacyLeftoverWithUnreadableManifest(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 2, 2)
	ctx := context.Background()
	parent := t.TempDir()
	out := filepath.Join(parent, "prod")
	legacy := filepath.Join(parent, ".prod.produce-0123456789abcdef")
	if err := os.MkdirAll(filepath.Join(legacy, production.ManifestFile), 0o755); err != nil { // a folder, not a regular file
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, production.VerifierKeyFile), []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()}
	_, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, opts)
	if !errors.Is(err, produce.ErrUnfinished) || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("produce beside a legacy folder whose manifest cannot be read: %v, want ErrUnfinished saying so", err)
	}
	if _, err := os.Stat(filepath.Join(legacy, production.ManifestFile)); err != nil {
		t.Errorf("the legacy folder was changed: %v", err)
	}
	if err := os.Remove(filepath.Join(legacy, production.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	res, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, opts)
	if err != nil {
		t.Fatalf("produce beside a legacy folder with no manifest: %v", err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != legacy {
		t.Errorf("removed %v, want %s", res.Removed, legacy)
	}
}
