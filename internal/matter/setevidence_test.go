package matter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/testutil/slowfs"
	"github.com/custodyhq/custody/internal/verify"
)

// TestSetEvidenceAfterFailedFirstExport: the first export recorded a store
// and failed before writing to it; SetEvidence points the matter at the
// right one, and the next opening uses it.
func TestSetEvidenceAfterFailedFirstExport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := matter.Options{Ledger: filepath.Join(dir, "custody.db")}
	m, err := matter.Create(ctx, opts, "m")
	if err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(t.TempDir(), "typo")
	if err := os.MkdirAll(wrong, 0o755); err != nil { // the failed export made it
		t.Fatal(err)
	}
	mo := opts
	mo.Evidence = wrong
	m.Close()
	if m, err = matter.Open(ctx, mo); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Evidence(ctx); err != nil { // recorded, as the failed export did
		t.Fatal(err)
	}
	m.Close()

	// The right store, given to a writer: refused while the typo exists.
	right := filepath.Join(dir, "evidence")
	mo.Evidence = right
	if m, err = matter.Open(ctx, mo); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Evidence(ctx); !errors.Is(err, matter.ErrEvidenceElsewhere) {
		t.Fatalf("another store for writing: err = %v, want ErrEvidenceElsewhere", err)
	}
	m.Close()

	if m, err = matter.Open(ctx, opts); err != nil {
		t.Fatal(err)
	}
	r, err := m.SetEvidence(ctx, right)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Changed || r.From != wrong || r.To != right || r.Referenced != 0 {
		t.Errorf("relocation %+v", r)
	}
	if rec, _, _ := m.Recorded(ctx); rec != "evidence" {
		t.Errorf("recorded %q, want evidence (relative: inside the matter)", rec)
	}
	// Again: nothing to do.
	if r, err = m.SetEvidence(ctx, right); err != nil || r.Changed {
		t.Errorf("second SetEvidence: %+v, %v", r, err)
	}
	m.Close()

	if m, err = matter.Open(ctx, opts); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.URL() != right {
		t.Errorf("the matter opens %s, want %s", st.URL(), right)
	}
}

// TestSetEvidenceRefusesWithoutTheObjects: a matter whose entries name
// evidence cannot be pointed at a store that lacks it; once copied, it can,
// and verifies there.
func TestSetEvidenceRefusesWithoutTheObjects(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	other := filepath.Join(t.TempDir(), "mirror")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := m.Recorded(ctx)
	if _, err := m.SetEvidence(ctx, other); !errors.Is(err, matter.ErrEvidenceNotThere) {
		t.Fatalf("empty store: err = %v, want ErrEvidenceNotThere", err)
	}
	if after, _, _ := m.Recorded(ctx); after != before {
		t.Errorf("a refused SetEvidence recorded %q (was %q)", after, before)
	}
	m.Close()

	if err := os.CopyFS(other, os.DirFS(filepath.Join(filepath.Dir(opts.Ledger), "evidence"))); err != nil {
		t.Fatal(err)
	}
	if m, err = matter.Open(ctx, opts); err != nil {
		t.Fatal(err)
	}
	r, err := m.SetEvidence(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Changed || r.Referenced != 3 || r.To != other {
		t.Errorf("relocation %+v, want 3 objects referenced, now at %s", r, other)
	}
	m.Close()

	ro := opts
	ro.ReadOnly = true
	if m, err = matter.Open(ctx, ro); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.SetEvidence(ctx, other); !errors.Is(err, matter.ErrReadOnly) {
		t.Errorf("read-only: err = %v", err)
	}
	st, err := m.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Ledger(ctx, m.Ledger, verify.Options{VerifierKey: m.Ledger.VerifierKey(), Evidence: st})
	// (The fixture's evidence is not API responses, so only the
	// re-hashing is checked here, not what verify derives from it.)
	if err != nil || rep.Evidence == nil || rep.Evidence.Referenced != 3 || rep.Evidence.Missing+rep.Evidence.Altered != 0 {
		t.Errorf("verify at the new store: %v %+v", err, rep.Evidence)
	}
}

// TestSetEvidenceOnShare: the new store's objects are looked for many at
// once where each question is a round trip (the slowfs model share): all
// three of this matter's at once, where one at a time the share would
// never hold more than one.
func TestSetEvidenceOnShare(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	mirror := t.TempDir()
	if err := os.CopyFS(mirror, os.DirFS(filepath.Join(filepath.Dir(opts.Ledger), "evidence"))); err != nil {
		t.Fatal(err)
	}
	share := slowfs.Mount(t, mirror, 20*time.Millisecond)
	m, err := matter.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	share.ResetPeak()
	r, err := m.SetEvidence(ctx, share.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Changed || r.Referenced != 3 {
		t.Errorf("relocation %+v, want 3 objects referenced", r)
	}
	if p := share.Peak(); p < 3 {
		t.Errorf("the share held at most %d requests at once, want the 3 objects looked for at once", p)
	}
}

// TestSetEvidenceAfterErasure: the objects an erasure deleted are absent
// from every store; set-evidence leaves out those verify --evidence
// counts as erased, by the same rule (erasure.Excuses), so the matter's
// own store and a copy of it are accepted, where every store was refused
// once anything was erased. A copy that lacks an object no erasure
// deleted is still refused, and so is an erasure no checkpoint vouches
// for, which verify counts as missing too.
func TestSetEvidenceAfterErasure(t *testing.T) {
	for _, vouch := range []bool{true, false} {
		t.Run(map[bool]string{true: "vouched", false: "unvouched"}[vouch], func(t *testing.T) {
			ctx := context.Background()
			opts := newMatter(t)
			m, err := matter.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			st, err := m.Evidence(ctx)
			if err != nil {
				t.Fatal(err)
			}
			req := erase.Request{Messages: []string{"m2"}, Reason: "DSR-1", Operator: "dpo"}
			if vouch {
				if req.SignerKey, err = m.SignerKey(); err != nil {
					t.Fatal(err)
				}
			}
			res, err := erase.Erase(ctx, m.Ledger, st, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Detail.Erased) == 0 {
				t.Fatalf("the erasure deleted nothing: %+v", res.Detail)
			}
			rep, err := verify.Ledger(ctx, m.Ledger, verify.Options{VerifierKey: m.Ledger.VerifierKey(), Evidence: st})
			if err != nil {
				t.Fatal(err)
			}
			wantErased := len(res.Detail.Erased)
			if !vouch {
				wantErased = 0
			}
			if rep.Evidence.Erased != wantErased || rep.Evidence.Missing != len(res.Detail.Erased)-wantErased {
				t.Fatalf("verify --evidence: %d erased, %d missing; want %d erased", rep.Evidence.Erased, rep.Evidence.Missing, wantErased)
			}

			here := filepath.Join(filepath.Dir(opts.Ledger), "evidence")
			copied := filepath.Join(t.TempDir(), "copy")
			if err := os.CopyFS(copied, os.DirFS(here)); err != nil {
				t.Fatal(err)
			}
			for _, to := range []string{here, copied} {
				r, err := m.SetEvidence(ctx, to)
				if !vouch {
					if !errors.Is(err, matter.ErrEvidenceNotThere) || !strings.Contains(err.Error(), "no signed checkpoint vouches") {
						t.Errorf("set-evidence %s under an erasure no checkpoint vouches for: %v, want ErrEvidenceNotThere saying why", to, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("set-evidence %s after an erasure: %v", to, err)
				}
				if r.To != to || r.Referenced != 3 || r.Erased != rep.Evidence.Erased {
					t.Errorf("relocation %+v, want to %s, 3 referenced, %d erased", r, to, rep.Evidence.Erased)
				}
			}

			// A copy missing an object no erasure deleted.
			short := filepath.Join(t.TempDir(), "short")
			if err := os.CopyFS(short, os.DirFS(here)); err != nil {
				t.Fatal(err)
			}
			kept := ""
			for _, e := range []string{"m1", "m3"} {
				es, err := m.Ledger.EntriesByMessage(ctx, e)
				if err != nil || len(es) != 1 {
					t.Fatal(es, err)
				}
				kept = es[0].EvidenceSHA256.String()
			}
			if err := os.Remove(filepath.Join(short, "sha256", kept[:2], kept)); err != nil {
				t.Fatal(err)
			}
			if _, err := m.SetEvidence(ctx, short); !errors.Is(err, matter.ErrEvidenceNotThere) || (vouch && !strings.Contains(err.Error(), kept)) {
				t.Errorf("set-evidence to a copy without %s: %v, want ErrEvidenceNotThere naming it", kept, err)
			}
		})
	}
}
