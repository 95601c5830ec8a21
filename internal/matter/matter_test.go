package matter_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/verify"
)

// newMatter creates a matter in a temporary directory with a few entries
// (some referencing evidence), a signed checkpoint and its evidence store
// recorded, and closes it: what a command finds after an export.
func newMatter(t *testing.T) matter.Options {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	opts := matter.Options{Ledger: filepath.Join(dir, "custody.db")}
	m, err := matter.Create(ctx, opts, "acme-v-smith")
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var entries []leaf.Entry
	for i, body := range []string{"one", "two", "three"} {
		ref, err := st.Put(ctx, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		hold := i == 0
		entries = append(entries, leaf.Entry{
			Kind: leaf.KindMessage, ConversationID: "c1", MessageID: "m" + string(rune('1'+i)),
			PayloadSHA256: ref.Sum, EvidenceSHA256: ref.Sum,
			Compliance: &leaf.Compliance{LegalHold: &hold, OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		})
	}
	if _, err := m.Ledger.Append(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	key, err := m.SignerKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ledger.Checkpoint(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return opts
}

// fileState is what a read must not change: every file under dir, by
// relative path, with its bytes, mode and modification time.
type fileState struct {
	data  []byte
	mode  fs.FileMode
	mtime time.Time
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := fileState{mode: fi.Mode(), mtime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			if st.data, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compare(t *testing.T, before, after map[string]fileState) {
	t.Helper()
	if b, a := slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)); !slices.Equal(b, a) {
		t.Fatalf("files changed:\nbefore %v\nafter  %v", b, a)
	}
	for name, b := range before {
		a := after[name]
		if !bytes.Equal(a.data, b.data) || a.mode != b.mode || !a.mtime.Equal(b.mtime) {
			t.Errorf("%s changed: mode %v→%v, mtime %v→%v, %d→%d bytes", name, b.mode, a.mode, b.mtime, a.mtime, len(b.data), len(a.data))
		}
	}
}

// compareBesideSQLite is compare for a matter someone could write: a
// read-only open reads with SQLite's WAL locks, which may create an empty
// custody.db-wal and its custody.db-shm index (and so touch the folder's
// mtime); nothing else may change.
func compareBesideSQLite(t *testing.T, before, after map[string]fileState) {
	t.Helper()
	after = maps.Clone(after)
	if w, ok := after["custody.db-wal"]; ok {
		if _, was := before["custody.db-wal"]; !was && len(w.data) != 0 {
			t.Errorf("a read-only open wrote %d bytes to a new -wal", len(w.data))
		}
		if _, was := before["custody.db-wal"]; !was {
			delete(after, "custody.db-wal")
		}
	}
	if _, was := before["custody.db-shm"]; !was {
		delete(after, "custody.db-shm")
	}
	if b, ok := before["."]; ok {
		after["."] = b
	}
	compare(t, before, after)
}

// readOnlyCopy copies the matter folder of opts to a new folder and makes
// it read-only (chmod -R a-w), as an auditor receives it; it returns the
// copy's options.
func readOnlyCopy(t *testing.T, opts matter.Options) matter.Options {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dst, os.DirFS(filepath.Dir(opts.Ledger))); err != nil {
		t.Fatal(err)
	}
	chmodTree(t, dst, false)
	t.Cleanup(func() { chmodTree(t, dst, true) })
	opts.Ledger = filepath.Join(dst, filepath.Base(opts.Ledger))
	return opts
}

// chmodTree removes (or restores) every write permission bit under dir.
func chmodTree(t *testing.T, dir string, writable bool) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() &^ 0o222
		if writable {
			mode |= 0o200
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlyWritesNothing opens a matter read-only, does everything a
// read-only command does (verify with evidence, log, prove), tries to
// write, and checks that not one byte, mode or mtime changed and no file
// appeared (no -wal, no -shm, no evidence folder entries).
func TestReadOnlyWritesNothing(t *testing.T) {
	// A matter someone could write: only SQLite's own -wal/-shm may appear.
	t.Run("writable", func(t *testing.T) { readOnlyWritesNothing(t, newMatter(t), compareBesideSQLite) })
	// A read-only copy (chmod -R a-w; the tests may run as root, where the
	// modes stop nothing): not a byte, not a file.
	t.Run("read-only copy", func(t *testing.T) { readOnlyWritesNothing(t, readOnlyCopy(t, newMatter(t)), compare) })
}

func readOnlyWritesNothing(t *testing.T, opts matter.Options, cmp func(*testing.T, map[string]fileState, map[string]fileState)) {
	ctx := context.Background()
	dir := filepath.Dir(opts.Ledger)
	before := snapshot(t, dir)
	// mtimes have a coarse granularity on some filesystems: make sure a
	// write, had there been one, would show.
	time.Sleep(20 * time.Millisecond)

	ro := opts
	ro.ReadOnly = true
	m, err := matter.Open(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	if !m.ReadOnly() || !m.Ledger.ReadOnly() {
		t.Fatal("matter or ledger not read-only")
	}
	st, err := m.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "evidence"); st.URL() != want {
		t.Errorf("store %s, want the matter's own %s", st.URL(), want)
	}
	key, err := m.VerifierKey()
	if err != nil || key == "" {
		t.Fatalf("verifier key = %q, %v", key, err)
	}
	rep, err := verify.Ledger(ctx, m.Ledger, verify.Options{VerifierKey: key, Evidence: st, NoDerive: true}) // synthetic bodies: re-hash only
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	var sums []hashchain.Hash
	for e, err := range m.Ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, e.EvidenceSHA256)
	}
	er, err := evidence.Verify(ctx, st, evidence.Sums(sums), evidence.VerifyOptions{})
	if err != nil || !er.OK() || er.Referenced != 3 {
		t.Fatalf("evidence verify: %+v, %v", er, err)
	}
	if _, err := m.Ledger.Prove(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Every way of writing is refused.
	if _, err := st.Put(ctx, []byte("new")); !errors.Is(err, evidence.ErrReadOnly) {
		t.Errorf("evidence put: err = %v, want evidence.ErrReadOnly", err)
	}
	if _, err := m.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindMessage, ConversationID: "c", MessageID: "x"}); !errors.Is(err, ledger.ErrReadOnly) {
		t.Errorf("append: err = %v, want ledger.ErrReadOnly", err)
	}
	if _, err := m.SignerKey(); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("signer key: err = %v, want matter.ErrReadOnly", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	cmp(t, before, snapshot(t, dir))
}

// TestReadOnlyRecordsNothing: a read-only matter whose ledger has no
// evidence store recorded yet opens the default one and records nothing,
// and may be pointed at any store.
func TestReadOnlyRecordsNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := matter.Options{Ledger: filepath.Join(dir, "custody.db")}
	m, err := matter.Create(ctx, opts, "m")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	before := snapshot(t, dir)
	time.Sleep(20 * time.Millisecond)

	for _, loc := range []string{"", filepath.Join(dir, "elsewhere")} {
		ro := opts
		ro.ReadOnly, ro.Evidence = true, loc
		m, err := matter.Open(ctx, ro)
		if err != nil {
			t.Fatal(err)
		}
		st, err := m.Evidence(ctx)
		if err != nil {
			t.Fatalf("evidence %q: %v", loc, err)
		}
		if want := cmpOr(loc, filepath.Join(dir, "evidence")); st.URL() != want {
			t.Errorf("store %s, want %s", st.URL(), want)
		}
		if _, ok, err := m.Recorded(ctx); err != nil || ok {
			t.Errorf("read-only open recorded a store: %v, %v", ok, err)
		}
		m.Close()
	}
	compareBesideSQLite(t, before, snapshot(t, dir))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestEvidencePolicy: the first store a writable matter uses is recorded;
// later opens find it; another store is refused for writing, allowed
// read-only; another spelling of the recorded store is the same store.
func TestEvidencePolicy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := matter.Options{Ledger: filepath.Join(dir, "custody.db"), Evidence: "file://" + filepath.Join(dir, "ev") + "/"}
	m, err := matter.Create(ctx, opts, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Evidence(ctx); err != nil {
		t.Fatal(err)
	}
	// A folder inside the matter is recorded relative to it.
	if rec, ok, err := m.Recorded(ctx); err != nil || !ok || rec != "ev" {
		t.Fatalf("recorded %q, %v, %v; want ev, relative to the matter", rec, ok, err)
	}
	rec := filepath.Join(dir, "ev")
	m.Close()

	if err := os.MkdirAll(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	// open opens the matter (for writing: one at a time, it holds the
	// lock) and returns the URL of the store it uses.
	open := func(evidenceLoc string, readOnly bool) (string, error) {
		t.Helper()
		o := opts
		o.Evidence, o.ReadOnly = evidenceLoc, readOnly
		o.Warn = func(msg string) { warnings = append(warnings, msg) }
		m, err := matter.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		st, err := m.Evidence(ctx)
		if err != nil {
			return "", err
		}
		return st.URL(), nil
	}
	if url, err := open("", false); err != nil || url != rec {
		t.Errorf("default after recording: %v, %v; want %s", url, err, rec)
	}
	if _, err := open(filepath.Join(dir, "ev", "."), false); err != nil {
		t.Errorf("another spelling of the recorded store: %v", err)
	}
	other := filepath.Join(dir, "other")
	if _, err := open(other, false); !errors.Is(err, matter.ErrEvidenceElsewhere) {
		t.Errorf("another store for writing: err = %v, want ErrEvidenceElsewhere", err)
	}
	if url, err := open(other, true); err != nil || url != other {
		t.Errorf("another store read-only: %v, %v", url, err)
	}
	if _, err := open("gs://bucket/x", true); !errors.Is(err, evidence.ErrUnknownScheme) {
		t.Errorf("unknown scheme: err = %v, want ErrUnknownScheme", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	// The recorded store is gone: another one given for writing is used,
	// recorded, and said so.
	if err := os.Remove(rec); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "ev2")
	if url, err := open(outside, false); err != nil || url != outside {
		t.Errorf("another store when the recorded one is gone: %v, %v", url, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "does not exist") {
		t.Errorf("warnings: %q", warnings)
	}
	m, err = matter.Open(ctx, matter.Options{Ledger: opts.Ledger, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, _, _ := m.Recorded(ctx); got != outside {
		t.Errorf("recorded %q, want the absolute %s (outside the matter)", got, outside)
	}
}

func TestCreateRefusesToOverwrite(t *testing.T) {
	ctx := context.Background()
	for _, existing := range []string{"custody.db", "custody.key", "custody.pub"} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, existing)
			if err := os.WriteFile(p, []byte("mine"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := matter.Create(ctx, matter.Options{Ledger: filepath.Join(dir, "custody.db")}, "m")
			if !errors.Is(err, matter.ErrExists) {
				t.Fatalf("err = %v, want ErrExists", err)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("create left %d files, want only %s", len(ents), existing)
			}
			if b, _ := os.ReadFile(p); string(b) != "mine" {
				t.Errorf("%s was overwritten", existing)
			}
		})
	}
}

func TestCreateKeys(t *testing.T) {
	dir := t.TempDir()
	opts := matter.Options{Ledger: filepath.Join(dir, "m42.db")}
	m, err := matter.Create(context.Background(), opts, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fi, err := os.Stat(filepath.Join(dir, "m42.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signer key file: %v, %v; want mode 0600", fi, err)
	}
	signer, err := m.SignerKey()
	if err != nil || !strings.HasPrefix(signer, "PRIVATE+KEY+") {
		t.Errorf("signer key %q, %v", signer, err)
	}
	verifier, err := m.VerifierKey()
	if err != nil || verifier != m.Ledger.VerifierKey() {
		t.Errorf("verifier key %q, %v; want %q", verifier, err, m.Ledger.VerifierKey())
	}
}

func TestReadVerifierKey(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "custody.db")
	_, pub, err := hashchain.GenerateKey("custody/abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auditor.pub"), []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files named by mistake: what they hold is never quoted.
	const secret = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	if err := os.WriteFile(filepath.Join(dir, "junk.pub"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := pub[:len(pub)-4] + "AAA="
	if err := os.WriteFile(filepath.Join(dir, "damaged.pub"), []byte(damaged+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "custody.key"), []byte("PRIVATE+KEY+custody/abc+01234567+AQID\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Larger than any key file may be (F10: a usage error, as a file
	// holding anything else that is no key).
	if err := os.WriteFile(filepath.Join(dir, "big.pub"), bytes.Repeat([]byte(pub+"\n"), matter.MaxKeyFile/len(pub)+1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, want string
		err             error
	}{
		{"none beside the ledger", "", "", nil},
		{"a file too large to be a key", filepath.Join(dir, "big.pub"), "", matter.ErrWrongKey},
		{"file", filepath.Join(dir, "auditor.pub"), pub, nil},
		{"the key itself", pub, pub, nil},
		{"signer key file", filepath.Join(dir, "custody.key"), "", matter.ErrWrongKey},
		{"signer key itself", "PRIVATE+KEY+custody/abc+01234567+AQID", "", matter.ErrWrongKey},
		{"missing file", filepath.Join(dir, "nope.pub"), "", fs.ErrNotExist},
		{"no key in the file", filepath.Join(dir, "junk.pub"), "", matter.ErrWrongKey},
		{"a damaged key in the file", filepath.Join(dir, "damaged.pub"), "", matter.ErrWrongKey},
		{"a damaged key itself", damaged, "", matter.ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := matter.ReadVerifierKey(tt.key, ledgerPath)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				for _, s := range []string{secret[:12], secret[len(secret)-12:], damaged[len(damaged)-12:], "PRIVATE", "AQID"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("err = %v: quotes the key file's content (%q)", err, s)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestReadVerifierKeyNotAFile: a key typed on the command line is that
// key, even where a file sits at the path it spells (a key's name holds
// '/'): a copy of a matter, verified from inside it, could carry its own
// key there. Before, the file was read first and its key used.
func TestReadVerifierKeyNotAFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// A key whose base64 ends in '/' spells a folder, where no file can
	// be planted: draw again (1 key in 64, a flaky CI run).
	var pub string
	for pub == "" || strings.HasSuffix(pub, "/") {
		var err error
		if _, pub, err = hashchain.GenerateKey("custody/f7e292a6"); err != nil {
			t.Fatal(err)
		}
	}
	_, planted, err := hashchain.GenerateKey("custody/f7e292a6")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(pub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(planted+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := matter.ReadVerifierKey(pub, filepath.Join(dir, "custody.db"))
	if err != nil || got != pub {
		t.Fatalf("= %q, %v; want the key typed, %q", got, err, pub)
	}
	// A regular file named by the key's first path element (a binary
	// built as ./custody) made every typed key an error.
	if err := os.RemoveAll("custody"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("custody", []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := matter.ReadVerifierKey(pub, filepath.Join(dir, "custody.db")); err != nil || got != pub {
		t.Fatalf("beside a file ./custody: %q, %v", got, err)
	}
}

// TestReadOnlyBesideAWriter: while another process writes (a -wal file
// beside the ledger), a read-only open reads through the WAL and sees
// every committed entry.
func TestReadOnlyBesideAWriter(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	w, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	hold := false
	e := leaf.Entry{Kind: leaf.KindMessage, ConversationID: "c2", MessageID: "late",
		PayloadSHA256: hashchain.Hash{1}, Compliance: &leaf.Compliance{LegalHold: &hold, OriginalTimestamp: "2024-04-30T09:15:27.481Z"}}
	if _, err := w.Ledger.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.Ledger + "-wal"); err != nil {
		t.Fatalf("no -wal beside a ledger being written: %v", err)
	}
	ro := opts
	ro.ReadOnly = true
	r, err := matter.Open(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok, err := r.Ledger.LatestCapture(ctx, "late"); err != nil || !ok {
		t.Errorf("read-only open does not see the writer's committed entry: %v, %v", ok, err)
	}
}
