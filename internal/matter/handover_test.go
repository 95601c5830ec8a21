package matter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/verify"
)

// TestLock: one writer at a time. A second writer fails at once naming
// the first; readers neither take the lock nor wait for it; a lock file
// left by a process that died (its flock gone with it) blocks nothing.
func TestLock(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	opts.Command = "custody export"
	first, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	second := opts
	second.Command = "custody checkpoint"
	start := time.Now()
	_, err = matter.Open(ctx, second)
	var le *matter.LockedError
	if !errors.As(err, &le) || !errors.Is(err, matter.ErrLocked) {
		t.Fatalf("second writer: err = %v, want a LockedError", err)
	}
	// Refused at once, not after SQLite's 5 s busy timeout: the bound
	// stays under it, with room for a loaded machine under -race.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("second writer waited %v", d)
	}
	host, _ := os.Hostname()
	if h := le.Holder; h == nil || h.PID != os.Getpid() || h.Host != host || h.Command != "custody export" || time.Since(h.Started) > time.Minute {
		t.Errorf("holder %+v", h)
	}
	for _, want := range []string{"custody export", fmt.Sprintf("pid %d", os.Getpid()), "on " + host, "since ", matter.LockPath(opts.Ledger)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	// Readers: no lock, no wait.
	ro := opts
	ro.ReadOnly = true
	r, err := matter.Open(ctx, ro)
	if err != nil {
		t.Fatalf("reader beside a writer: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// Released: the next writer gets it, and the file says nothing stale.
	if b, err := os.ReadFile(matter.LockPath(opts.Ledger)); err != nil || len(b) != 0 {
		t.Errorf("lock file after release: %q, %v", b, err)
	}
	m, err := matter.Open(ctx, second)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	m.Close()
	// A stale lock file: a dead process's details, no flock.
	stale := `{"pid":999999,"host":"gone","command":"custody export","started":"2020-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(matter.LockPath(opts.Ledger), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = matter.Open(ctx, second)
	if err != nil {
		t.Fatalf("stale lock file: %v", err)
	}
	m.Close()
}

// TestLockDeadProcess: a writer killed while it holds the lock leaves the
// lock file behind, with its details, and blocks nobody.
func TestLockDeadProcess(t *testing.T) {
	if os.Getenv("CUSTODY_MATTER_HOLD") != "" {
		return // the child of this test, see below
	}
	opts := newMatter(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHold$")
	cmd.Env = append(os.Environ(), "CUSTODY_MATTER_HOLD="+opts.Ledger)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "held\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q, %v", buf, err)
	}
	ctx := context.Background()
	_, err = matter.Open(ctx, opts)
	var le *matter.LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != cmd.Process.Pid {
		t.Errorf("while the child holds it: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if b, _ := os.ReadFile(matter.LockPath(opts.Ledger)); !strings.Contains(string(b), fmt.Sprint(cmd.Process.Pid)) {
		t.Errorf("the dead holder's details are gone: %q", b)
	}
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	m.Close()
}

// TestHelperHold is TestLockDeadProcess's child: it takes the lock, says
// so, and waits to be killed.
func TestHelperHold(t *testing.T) {
	name := os.Getenv("CUSTODY_MATTER_HOLD")
	if name == "" {
		t.Skip("helper process")
	}
	m, err := matter.Open(context.Background(), matter.Options{Ledger: name, Command: "custody export"})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	defer m.Close()
	fmt.Print("held\n")
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestWriterRefusesReadOnlyCopy: a writer on a read-only copy is refused
// before it creates anything (not even the lock file), even as root.
func TestWriterRefusesReadOnlyCopy(t *testing.T) {
	// Create's failure leaves nothing behind either, not even the lock.
	dir := t.TempDir()
	if _, err := matter.Create(context.Background(), matter.Options{Ledger: filepath.Join(dir, "custody.db")}, " "); err == nil {
		t.Fatal("created a matter with a blank name")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed create left %v", ents)
	}

	opts := readOnlyCopy(t, newMatter(t))
	before := snapshot(t, filepath.Dir(opts.Ledger))
	if _, err := matter.Open(context.Background(), opts); !errors.Is(err, matter.ErrNotWritable) {
		t.Fatalf("writer on a read-only copy: err = %v, want ErrNotWritable", err)
	}
	compare(t, before, snapshot(t, filepath.Dir(opts.Ledger)))
}

// storeURL opens the matter and returns the URL of its evidence store
// and what it warned.
func storeURL(t *testing.T, opts matter.Options) (string, []string, error) {
	t.Helper()
	var warnings []string
	opts.Warn = func(msg string) { warnings = append(warnings, msg) }
	m, err := matter.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Evidence(context.Background())
	if err != nil {
		return "", warnings, err
	}
	return st.URL(), warnings, nil
}

// TestCopyUsesItsOwnEvidence: the store is recorded relative to the
// matter, so a copy of the matter's folder uses the copy's store, with
// no reference to where it came from, even when the original is gone.
func TestCopyUsesItsOwnEvidence(t *testing.T) {
	opts := newMatter(t)
	ro := readOnlyCopy(t, opts)
	ro.ReadOnly = true
	want := filepath.Join(filepath.Dir(ro.Ledger), "evidence")
	if url, warnings, err := storeURL(t, ro); err != nil || url != want || len(warnings) != 0 {
		t.Errorf("copy's store: %s, %q, %v; want %s", url, warnings, err, want)
	}
	if err := os.RemoveAll(filepath.Dir(opts.Ledger)); err != nil {
		t.Fatal(err)
	}
	if url, _, err := storeURL(t, ro); err != nil || url != want {
		t.Errorf("copy's store with the original gone: %s, %v; want %s", url, err, want)
	}
}

// TestLegacyAbsoluteLocation: a ledger that recorded the absolute path
// of evidence/ beside it (custody before relative locations), copied
// elsewhere, uses the evidence/ beside the copy and says so; a writer is
// told to choose while both exist, and records the relative form.
func TestLegacyAbsoluteLocation(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	orig := filepath.Join(filepath.Dir(opts.Ledger), "evidence")
	l, err := ledger.Open(ctx, opts.Ledger, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetState(ctx, matter.StateEvidence, orig); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// In place: the recorded path is inside the matter; a writer rewrites
	// it relative.
	if url, warnings, err := storeURL(t, opts); err != nil || url != orig || len(warnings) != 0 {
		t.Fatalf("in place: %s, %q, %v", url, warnings, err)
	}
	m, _ := matter.Open(ctx, matter.Options{Ledger: opts.Ledger, ReadOnly: true})
	if rec, _, _ := m.Recorded(ctx); rec != "evidence" {
		t.Errorf("a writer left %q recorded, want evidence", rec)
	}
	m.Close()
	l, _ = ledger.Open(ctx, opts.Ledger, ledger.Options{})
	if err := l.SetState(ctx, matter.StateEvidence, orig); err != nil {
		t.Fatal(err)
	}
	l.Close()

	// A copy elsewhere, the original still there.
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dst, os.DirFS(filepath.Dir(opts.Ledger))); err != nil {
		t.Fatal(err)
	}
	cp := opts
	cp.Ledger = filepath.Join(dst, "custody.db")
	want := filepath.Join(dst, "evidence")
	ro := cp
	ro.ReadOnly = true
	url, warnings, err := storeURL(t, ro)
	if err != nil || url != want || len(warnings) != 1 || !strings.Contains(warnings[0], "not beside it") {
		t.Errorf("read-only copy: %s, %q, %v; want %s and a warning", url, warnings, err, want)
	}
	if _, _, err := storeURL(t, cp); !errors.Is(err, matter.ErrEvidenceAmbiguous) {
		t.Errorf("writer on the copy while both exist: err = %v, want ErrEvidenceAmbiguous", err)
	}
	// --evidence settles it: either one (and is recorded).
	for _, loc := range []string{want, orig} {
		o := cp
		o.Evidence = loc
		if url, _, err := storeURL(t, o); err != nil || url != loc {
			t.Errorf("writer on the copy with --evidence %s: %s, %v", loc, url, err)
		}
		l, _ = ledger.Open(ctx, cp.Ledger, ledger.Options{})
		if err := l.SetState(ctx, matter.StateEvidence, orig); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	// The original gone: readers and writers use the copy's, a writer
	// records it relative.
	if err := os.RemoveAll(filepath.Dir(opts.Ledger)); err != nil {
		t.Fatal(err)
	}
	url, warnings, err = storeURL(t, cp)
	if err != nil || url != want || len(warnings) != 1 || !strings.Contains(warnings[0], "does not exist") {
		t.Errorf("writer, original gone: %s, %q, %v", url, warnings, err)
	}
	if url, warnings, err = storeURL(t, ro); err != nil || url != want || len(warnings) != 0 {
		t.Errorf("after a writer re-recorded: %s, %q, %v", url, warnings, err)
	}
}

// TestReadDuringWrites: read-only opens verify the ledger again and again
// while a writer appends, checkpoints and closes (copying its WAL into
// the file) in cycles. Every verify sees a consistent snapshot: the
// reader is never immutable on a ledger someone can write.
func TestReadDuringWrites(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	key, err := matter.ReadVerifierKey("", opts.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = writeCycles(ctx, opts, stop, 0)
	}()
	deadline := time.Now().Add(3 * time.Second)
	reads := 0
	for time.Now().Before(deadline) {
		ro := opts
		ro.ReadOnly = true
		m, err := matter.Open(ctx, ro)
		if err != nil {
			t.Fatalf("read %d: open: %v", reads, err)
		}
		rep, err := verify.Ledger(ctx, m.Ledger, verify.Options{VerifierKey: key})
		m.Close()
		// Holds, not OK: a snapshot taken between an append and its
		// checkpoint has entries no signed checkpoint covers yet
		// (UNSIGNED), which is no inconsistency.
		if err != nil || !rep.Holds() {
			t.Fatalf("read %d: verify during writes: %v %+v", reads, err, rep.Findings)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	t.Logf("%d verifies during writes", reads)
}

// writeCycles opens the matter for writing, appends 200 entries, signs a
// checkpoint and closes it, again and again until stop is closed or, when
// cycles > 0, that many times.
func writeCycles(ctx context.Context, opts matter.Options, stop chan struct{}, cycles int) error {
	signer, err := matter.ReadSignerKey("", opts.Ledger)
	if err != nil {
		return err
	}
	for n := 0; cycles <= 0 || n < cycles; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		m, err := matter.Open(ctx, opts)
		if err != nil {
			return err
		}
		for b := range 5 {
			var batch []leaf.Entry
			for i := range 40 {
				hold := i%2 == 0
				batch = append(batch, leaf.Entry{Kind: leaf.KindMessage, ConversationID: "c", MessageID: fmt.Sprintf("w%d-%d-%d", n, b, i),
					PayloadSHA256: hashchain.Hash{byte(i + 1)}, Compliance: &leaf.Compliance{LegalHold: &hold, OriginalTimestamp: "2024-04-30T09:15:27.481Z"}})
			}
			if _, err := m.Ledger.Append(ctx, batch...); err != nil {
				m.Close()
				return err
			}
		}
		if _, err := m.Ledger.Checkpoint(ctx, signer); err != nil {
			m.Close()
			return err
		}
		if err := m.Close(); err != nil {
			return err
		}
	}
	return nil
}

// TestReadOnlyAsAnotherUser runs a verify as an unprivileged user (uid
// 65534), for whom permission bits hold, against the read-only copy and
// against the original: it succeeds, and nothing changes.
func TestReadOnlyAsAnotherUser(t *testing.T) {
	if os.Getenv("CUSTODY_MATTER_VERIFY") != "" {
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	base := t.TempDir()
	bin := filepath.Join(base, "matter.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"original", "read-only copy"} {
		t.Run(kind, func(t *testing.T) {
			opts := newMatter(t)
			if kind != "original" {
				opts = readOnlyCopy(t, opts)
			}
			// Let the user reach the matter: every folder above it inside
			// the test's temporary folders.
			for d := filepath.Dir(opts.Ledger); strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
				fi, err := os.Stat(d)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
					t.Fatal(err)
				}
			}
			for d := base; strings.HasPrefix(d, os.TempDir()+string(filepath.Separator)); d = filepath.Dir(d) {
				os.Chmod(d, 0o755)
			}
			dir := filepath.Dir(opts.Ledger)
			before := snapshot(t, dir)
			time.Sleep(20 * time.Millisecond)
			cmd := exec.Command(bin, "-test.run=^TestHelperVerify$")
			cmd.Env = append(os.Environ(), "CUSTODY_MATTER_VERIFY="+opts.Ledger, "HOME=/")
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "verified") {
				t.Fatalf("verify as uid 65534: %v\n%s", err, out)
			}
			compare(t, before, snapshot(t, dir))
		})
	}
}

// TestHelperVerify is TestReadOnlyAsAnotherUser's child.
func TestHelperVerify(t *testing.T) {
	name := os.Getenv("CUSTODY_MATTER_VERIFY")
	if name == "" {
		t.Skip("helper process")
	}
	ctx := context.Background()
	m, err := matter.Open(ctx, matter.Options{Ledger: name, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Ledger(ctx, m.Ledger, verify.Options{VerifierKey: key, Evidence: st, NoDerive: true}) // synthetic bodies: re-hash only
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep.Findings)
	}
	fmt.Println("verified", rep.Entries, "entries,", rep.Evidence.Referenced, "evidence objects in", rep.Evidence.Store)
}

// TestReadSnapshotAcrossAWriter: a reader that began before a writer
// existed (no -wal beside the ledger) keeps reading the snapshot it began
// with while a writer appends, checkpoints into the file and closes: it
// sees exactly the entries that were there, never a page of the writer's.
func TestReadSnapshotAcrossAWriter(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	if err := writeCycles(ctx, opts, nil, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.Ledger + "-wal"); err == nil {
		t.Fatal("a -wal file beside a ledger no one writes")
	}
	ro := opts
	ro.ReadOnly = true
	r, err := matter.Open(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head, err := r.Ledger.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for e, err := range r.Ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatalf("entry %d: %v", n, err)
		}
		if e.Seq != n || hashchain.LeafHash(e.Leaf) != e.LeafHash {
			t.Fatalf("entry %d: seq %d, leaf hash %v", n, e.Seq, e.LeafHash)
		}
		if n == 1 {
			// The writer comes and goes while the reader is mid-way.
			if err := writeCycles(ctx, opts, nil, 5); err != nil {
				t.Fatal(err)
			}
		}
		n++
	}
	if n != head.Size {
		t.Errorf("read %d entries, the snapshot had %d", n, head.Size)
	}
}
