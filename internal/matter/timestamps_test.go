package matter_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

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

// RemoveTSAs and RemoveWitnesses take URLs off the matter's settings and
// record each removal as a settings entry (what was removed, what is
// left); a URL the matter does not name is ErrNotConfigured naming those
// it does, and removes nothing; a read-only matter refuses.
func TestRemoveTSAsAndWitnesses(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const a, b, w1, w2 = "http://tsa-a.example/", "https://tsa-b.example/tsr", "http://w1.example:7380", "http://w2.example:7380"
	if err := m.AddTSAs(ctx, []string{a, b}); err != nil {
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

	err = m.RemoveTSAs(ctx, []string{a, "http://other.example/"})
	if !errors.Is(err, matter.ErrNotConfigured) || !strings.Contains(err.Error(), "http://other.example/") || !strings.Contains(err.Error(), a+", "+b) {
		t.Fatalf("removing a URL the matter does not name: %v; want ErrNotConfigured naming it and %s, %s", err, a, b)
	}
	if err := m.RemoveWitnesses(ctx, []string{a}); !errors.Is(err, matter.ErrNotConfigured) || !strings.Contains(err.Error(), w1+", "+w2) {
		t.Fatalf("removing a TSA's URL as a witness: %v; want ErrNotConfigured naming the witnesses", err)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 2 || size() != before {
		t.Fatalf("a refused removal changed something: TSAs %v, %d entries (was %d)", urls, size(), before)
	}

	if err := m.RemoveTSAs(ctx, []string{a, a}); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveWitnesses(ctx, []string{w2}); err != nil {
		t.Fatal(err)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 1 || urls[0] != b {
		t.Errorf("TSAs after removing %s: %v", a, urls)
	}
	if urls, _ := m.Witnesses(ctx); len(urls) != 1 || urls[0] != w1 {
		t.Errorf("witnesses after removing %s: %v", w2, urls)
	}
	if err := m.RemoveTSAs(ctx, nil); err != nil || size() != before+2 {
		t.Fatalf("removing nothing: %v, %d entries; want nothing recorded", err, size())
	}
	var got []leaf.SettingsDetail
	for e, err := range m.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindSettings}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *d.(*leaf.SettingsDetail))
	}
	want := []leaf.SettingsDetail{
		{Setting: leaf.SettingTSA, Action: leaf.SettingsRemove, URLs: []string{a}, Now: []string{b}},
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
	if err := m.RemoveTSAs(ctx, []string{b}); err != nil {
		t.Fatal(err)
	}
	if urls, _ := m.TSAs(ctx); len(urls) != 0 {
		t.Errorf("TSAs after removing the last: %v", urls)
	}
	m.Close()

	ro, err := matter.Open(ctx, matter.Options{Ledger: opts.Ledger, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.RemoveWitnesses(ctx, []string{w1}); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("read-only RemoveWitnesses: %v, want ErrReadOnly", err)
	}
	if err := ro.RemoveTSAs(ctx, []string{"http://nowhere.example/"}); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("read-only RemoveTSAs: %v, want ErrReadOnly", err)
	}
}
