package matter_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/witness"
)

// Every new checkpoint, whoever signs it, goes to the matter's
// authorities; a failure is a recorded gap and a warning, never a lost
// checkpoint; TimestampMissing fills it.
func TestTimestampsOnCheckpoint(t *testing.T) {
	ctx := context.Background()
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opts := newMatter(t) // a ledger with one checkpoint, before any authority
	var warnings []string
	opts.Warn = func(msg string) { warnings = append(warnings, msg) }
	opts.TSA = &tsa.Client{Timeout: 2 * time.Second}
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.AddTSAs(ctx, []string{"ftp://nope"}); err == nil {
		t.Fatal("an ftp URL was accepted")
	}
	if err := m.AddTSAs(ctx, []string{s.URL, s.URL}); err != nil {
		t.Fatal(err)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 1 {
		t.Fatalf("TSAs = %v", urls)
	}
	if err := m.SetTSARoots(ctx, []byte("not pem")); err == nil {
		t.Fatal("a bundle without certificates was kept")
	}
	if err := m.SetTSARoots(ctx, s.RootPEM); err != nil {
		t.Fatal(err)
	}
	key, _ := m.SignerKey()
	sign := func() {
		t.Helper()
		if _, err := m.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r"}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Ledger.Checkpoint(ctx, key); err != nil {
			t.Fatalf("the checkpoint must stand whatever the authority does: %v", err)
		}
	}
	sign() // #2: timestamped
	if rs := m.LastTimestamps(); len(rs) != 1 || rs[0].Err != nil || rs[0].CheckpointID != 2 {
		t.Fatalf("results %+v", rs)
	}
	s.SetFault(tsasim.FaultDown)
	sign() // #3: a gap
	s.SetFault(tsasim.FaultUntrusted)
	sign() // #4: refused against the kept roots: a gap
	if len(warnings) != 2 || !strings.Contains(warnings[0], "checkpoint #3") || !strings.Contains(warnings[1], "unknown authority") {
		t.Fatalf("warnings %q", warnings)
	}
	ts, _ := m.Ledger.Timestamps(ctx)
	if len(ts) != 3 || ts[0].Token == nil || ts[1].Token != nil || ts[2].Token != nil {
		t.Fatalf("rows %+v", ts)
	}
	s.SetFault(tsasim.FaultNone)
	rs, err := m.TimestampMissing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// #1 (before the authority), #3 and #4 were missing.
	if len(rs) != 3 || rs[0].CheckpointID != 1 || rs[1].CheckpointID != 3 || rs[2].CheckpointID != 4 {
		t.Fatalf("filled %+v", rs)
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if rs, _ := m.TimestampMissing(ctx); len(rs) != 0 {
		t.Fatalf("asked again for %+v", rs)
	}
	// Read-only: nothing is asked or stored.
	ro, err := matter.Open(ctx, matter.Options{Ledger: opts.Ledger, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.TimestampMissing(ctx); !errors.Is(err, matter.ErrReadOnly) {
		t.Fatalf("read-only: %v", err)
	}
	if roots, err := ro.TSARoots(ctx); err != nil || roots == nil {
		t.Fatalf("kept roots: %v, %v", roots, err)
	}
}

// Witnesses kept in the matter cosign every new checkpoint; a refusal is
// a warning and the checkpoint stands.
func TestCosignOnCheckpoint(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	var warnings []string
	opts.Warn = func(msg string) { warnings = append(warnings, msg) }
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	skey, _, _ := witness.GenerateKey("w.example")
	w, err := witness.New(skey, []string{m.Ledger.VerifierKey()}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(witness.Handler(w))
	defer srv.Close()
	if err := m.AddWitnesses(ctx, []string{"ftp://x"}); err == nil {
		t.Fatal("an ftp witness was accepted")
	}
	if err := m.AddWitnesses(ctx, []string{srv.URL}); err != nil {
		t.Fatal(err)
	}
	key, _ := m.SignerKey()
	for i := range 3 {
		if _, err := m.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r"}); err != nil {
			t.Fatal(err)
		}
		cp, err := m.Ledger.Checkpoint(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		rs := m.LastCosignatures()
		if len(rs) != 1 || rs[0].Err != nil || !strings.HasPrefix(rs[0].Lines, "— w.example ") || rs[0].CheckpointID != cp.ID {
			t.Fatalf("round %d: %+v", i, rs)
		}
	}
	srv.Close() // the witness is gone
	if _, err := m.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ledger.Checkpoint(ctx, key); err != nil {
		t.Fatalf("the checkpoint must stand: %v", err)
	}
	if rs := m.LastCosignatures(); len(rs) != 1 || rs[0].Err == nil || len(warnings) != 1 {
		t.Fatalf("%+v, warnings %q", rs, warnings)
	}
	if cs, _ := m.Ledger.Cosignatures(ctx); len(cs) != 3 {
		t.Fatalf("%d cosignatures stored", len(cs))
	}
}

// CheckpointRemoving takes URLs off the matter's settings and records
// each list's removal as a settings entry (what was removed, what is
// left, as custody shows them: redact.URL), in the transaction that
// signs the checkpoint covering it; a URL is named as stored or as
// shown. A URL the matter does not name is ErrNotConfigured naming those
// it does, one shown form naming two ErrAmbiguous, and, like a key that
// does not sign for the ledger, changes nothing (CheckRemoval says so
// first); a read-only matter refuses.
func TestCheckpointRemoving(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	opts.Warn = func(string) {}
	opts.TSA = &tsa.Client{Timeout: time.Second}
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key, err := m.SignerKey()
	if err != nil {
		t.Fatal(err)
	}
	// Nothing answers at port 1: asking fails at once.
	const a, b, w1, w2 = "http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "http://127.0.0.1:1/w1", "http://127.0.0.1:1/w2"
	// An older custody took URLs with secrets (AddTSAs refuses them now).
	const secret, secret2 = "https://u:PWKEEP@127.0.0.1:1/?key=QSKEEP", "https://u:OTHERPW@127.0.0.1:1/?key=QSKEEP"
	if err := m.Ledger.SetState(ctx, matter.StateTSA, strings.Join([]string{a, secret, b}, "\n")); err != nil {
		t.Fatal(err)
	}
	if err := m.AddWitnesses(ctx, []string{w1, w2}); err != nil {
		t.Fatal(err)
	}
	size := func() uint64 {
		t.Helper()
		h, err := m.Ledger.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h.Size
	}
	before := size()
	cps := func() int {
		t.Helper()
		cs, err := m.Ledger.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	cpsBefore := cps()
	unchanged := func(what string) {
		t.Helper()
		if urls, _ := m.TSAs(ctx); len(urls) != 3 || size() != before || cps() != cpsBefore {
			t.Fatalf("%s changed something: TSAs %v, %d entries (was %d), %d checkpoints (was %d)", what, urls, size(), before, cps(), cpsBefore)
		}
	}

	r := matter.Removal{TSAs: []string{a, "http://other.example/"}}
	for _, err := range []error{m.CheckRemoval(ctx, r), func() error { _, err := m.CheckpointRemoving(ctx, key, nil, r); return err }()} {
		if !errors.Is(err, matter.ErrNotConfigured) || !strings.Contains(err.Error(), "http://other.example/") ||
			!strings.Contains(err.Error(), a+", https://[REDACTED]@127.0.0.1:1/?[REDACTED], "+b) || strings.Contains(err.Error(), "KEEP") {
			t.Fatalf("removing a URL the matter does not name: %v; want ErrNotConfigured naming it and those it names, redacted", err)
		}
	}
	unchanged("a refused removal")
	if err := m.CheckRemoval(ctx, matter.Removal{Witnesses: []string{a}}); !errors.Is(err, matter.ErrNotConfigured) || !strings.Contains(err.Error(), w1+", "+w2) {
		t.Fatalf("removing a TSA's URL as a witness: %v; want ErrNotConfigured naming the witnesses", err)
	}
	other, _, err := note.GenerateKey(rand.Reader, "another.example/ledger")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CheckpointRemoving(ctx, other, nil, matter.Removal{TSAs: []string{a}}); !errors.Is(err, ledger.ErrWrongKey) {
		t.Fatalf("removing with another ledger's key: %v, want ErrWrongKey", err)
	}
	unchanged("a removal whose checkpoint was not signed")

	// Removed as stored, and as shown (the secrets redacted), in one
	// checkpoint that covers both entries.
	shown := "https://[REDACTED]@127.0.0.1:1/?[REDACTED]"
	cp, err := m.CheckpointRemoving(ctx, key, nil, matter.Removal{TSAs: []string{a, shown, a}, Witnesses: []string{w2}})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != before+2 || size() != before+2 || cps() != cpsBefore+1 {
		t.Fatalf("checkpoint of size %d, ledger %d entries (was %d), %d checkpoints (was %d): want both entries covered by one new checkpoint", cp.Size, size(), before, cps(), cpsBefore)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 1 || urls[0] != b {
		t.Errorf("TSAs after removing %s and the one with secrets: %v", a, urls)
	}
	if urls, _ := m.Witnesses(ctx); len(urls) != 1 || urls[0] != w1 {
		t.Errorf("witnesses after removing %s: %v", w2, urls)
	}
	for _, u := range m.LastTimestamps() {
		if u.TSA != b {
			t.Errorf("the checkpoint removing them was sent to %s", u.TSA)
		}
	}
	var got []leaf.SettingsDetail
	for e, err := range m.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindSettings}) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(e.Leaf), "KEEP") {
			t.Errorf("a settings entry holds a URL's secrets: %s", e.Leaf)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *d.(*leaf.SettingsDetail))
	}
	want := []leaf.SettingsDetail{
		{Setting: leaf.SettingTSA, Action: leaf.SettingsRemove, URLs: []string{a, shown}, Now: []string{b}},
		{Setting: leaf.SettingWitness, Action: leaf.SettingsRemove, URLs: []string{w2}, Now: []string{w1}},
	}
	if len(got) != len(want) {
		t.Fatalf("settings entries %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if g.Operator == "" {
			t.Errorf("settings entry %d names no operator", i)
		}
		g.Operator = ""
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("settings entry %d: %+v, want %+v", i, g, want[i])
		}
	}

	// Two stored URLs shown alike: the shown form is ambiguous, the
	// stored one is not.
	if err := m.Ledger.SetState(ctx, matter.StateTSA, strings.Join([]string{b, secret, secret2}, "\n")); err != nil {
		t.Fatal(err)
	}
	if err := m.CheckRemoval(ctx, matter.Removal{TSAs: []string{shown}}); !errors.Is(err, matter.ErrAmbiguous) {
		t.Fatalf("a shown form naming two: %v, want ErrAmbiguous", err)
	}
	if _, err := m.CheckpointRemoving(ctx, key, nil, matter.Removal{TSAs: []string{secret2, b}}); err != nil {
		t.Fatal(err)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 1 || urls[0] != secret {
		t.Errorf("TSAs after removing the last two: %v", urls)
	}
	m.Close()

	ro, err := matter.Open(ctx, matter.Options{Ledger: opts.Ledger, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.CheckRemoval(ctx, matter.Removal{Witnesses: []string{w1}}); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("read-only CheckRemoval: %v, want ErrReadOnly", err)
	}
	if _, err := ro.CheckpointRemoving(ctx, key, nil, matter.Removal{TSAs: []string{"http://nowhere.example/"}}); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("read-only CheckpointRemoving: %v, want ErrReadOnly", err)
	}
}
