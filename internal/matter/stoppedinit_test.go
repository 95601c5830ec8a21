package matter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
)

// emptyMatter makes a matter with no entry in dir and closes it.
func emptyMatter(t *testing.T, dir string) {
	t.Helper()
	m, err := matter.Create(context.Background(), matter.Options{Ledger: filepath.Join(dir, "custody.db")}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// olderInit leaves in dir what an older custody's init left when stopped
// between making the ledger (in place, at once) and writing its keys:
// the ledger, with its signer key when withSigner (written first), after
// use (if not nil) has done what it does with it.
func olderInit(t *testing.T, dir string, withSigner bool, use func(l *ledger.Ledger, signer string)) {
	t.Helper()
	ctx := context.Background()
	l, signer, err := ledger.Create(ctx, filepath.Join(dir, "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if use != nil {
		use(l, signer)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if withSigner {
		if err := os.WriteFile(filepath.Join(dir, "custody.key"), []byte(signer+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func mv(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// Each state an init killed part-way leaves (by this custody or an
// older one, which made the ledger before its keys), made here by hand:
// the next init clears it, says so, and makes a matter. On the old code
// each was refused ("custody.db already exists") and the .partial copies
// of the signer key stayed.
func TestCreateAfterStoppedInit(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, dir string)
	}{
		{"empty ledger file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "custody.db"), nil, 0o644)
		}},
		{"database with no table yet", func(t *testing.T, dir string) {
			h := make([]byte, 4096)
			copy(h, "SQLite format 3\x00")
			h[18], h[19] = 2, 2
			os.WriteFile(filepath.Join(dir, "custody.db"), h, 0o644)
		}},
		{"empty ledger, no keys", func(t *testing.T, dir string) {
			olderInit(t, dir, false, nil)
		}},
		{"empty ledger and its signer key, no verifier key", func(t *testing.T, dir string) {
			olderInit(t, dir, true, nil)
		}},
		{"partial copies of the keys", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ".custody.key.partial-12345"), []byte("PRIVATE+KEY+x\n"), 0o600)
			os.WriteFile(filepath.Join(dir, ".custody.pub.partial-678"), nil, 0o644)
		}},
		{"partial ledger and its keys, not yet in place", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.db"), filepath.Join(dir, ".custody.db.partial-42"))
		}},
		{"partial ledger and its signer key", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.db"), filepath.Join(dir, ".custody.db.partial-42"))
			os.Remove(filepath.Join(dir, "custody.pub"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.leave(t, dir)
			var warned []string
			m, err := matter.Create(ctx, matter.Options{Ledger: filepath.Join(dir, "custody.db"), Warn: func(s string) { warned = append(warned, s) }}, "m")
			if err != nil {
				t.Fatalf("init after a stopped init: %v", err)
			}
			defer m.Close()
			if len(warned) != 1 || !strings.Contains(warned[0], "init that was stopped") {
				t.Errorf("warned %q, want one message naming what was removed", warned)
			}
			if _, err := m.SignerKey(); err != nil {
				t.Fatal(err)
			}
			if v, err := m.VerifierKey(); err != nil || v != m.Ledger.VerifierKey() {
				t.Fatalf("verifier key %q, %v; want the ledger's", v, err)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*partial*"))
			if len(left) > 0 {
				t.Errorf("left %v", left)
			}
		})
	}
}

// What holds something is never removed: a ledger with entries whose key
// is missing, an empty one that records an evidence store, a key with no
// ledger of its own. Each is refused, saying what to do.
func TestCreateKeepsWhatHoldsSomething(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		leave func(t *testing.T, dir string)
		want  string
	}{
		{"ledger with entries, no key", func(t *testing.T, dir string) {
			m, err := matter.Create(ctx, matter.Options{Ledger: filepath.Join(dir, "custody.db")}, "m")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindRun, RunID: "r"}); err != nil {
				t.Fatal(err)
			}
			m.Close()
			os.Remove(filepath.Join(dir, "custody.key"))
		}, "restore the matter's key files"},
		{"empty ledger recording evidence, no key", func(t *testing.T, dir string) {
			m, err := matter.Create(ctx, matter.Options{Ledger: filepath.Join(dir, "custody.db")}, "m")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Ledger.SetState(ctx, matter.StateEvidence, "evidence"); err != nil {
				t.Fatal(err)
			}
			m.Close()
			os.Remove(filepath.Join(dir, "custody.key"))
		}, "records an evidence store"},
		// A finished, empty matter whose signer key was moved into a
		// vault, its custody.pub perhaps given to an auditor already.
		// Seen failing on the old code: init removed custody.db and
		// custody.pub and made a new key pair.
		{"empty matter, signer key moved away", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.key"), filepath.Join(t.TempDir(), "custody.key"))
		}, "the signer key was moved away or lost; restore the signer key from a backup"},
		// A finished, empty matter whose two key files were moved away
		// (into a vault, say): this init's mark says its keys were
		// written. Seen failing on the old code: init removed the
		// ledger and made a new matter.
		{"empty matter, both keys moved away", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.key"), filepath.Join(t.TempDir(), "custody.key"))
			mv(t, filepath.Join(dir, "custody.pub"), filepath.Join(t.TempDir(), "custody.pub"))
		}, "its init finished (both key files were written at"},
		// Its verifier key alone moved away: still a finished matter.
		{"empty matter, verifier key moved away", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.pub"), filepath.Join(t.TempDir(), "custody.pub"))
		}, "its init finished"},
		// An older custody's ledger (no mark) without its keys, but
		// used: its signer key signed a checkpoint, a setting was made
		// after init, or a run begun. Each seen failing on the old code
		// (init succeeded).
		{"older empty ledger with a signed checkpoint, no keys", func(t *testing.T, dir string) {
			olderInit(t, dir, false, func(l *ledger.Ledger, signer string) {
				if _, err := l.Checkpoint(context.Background(), signer); err != nil {
					t.Fatal(err)
				}
			})
		}, "it holds 1 signed checkpoints"},
		{"older empty ledger with a setting, no keys", func(t *testing.T, dir string) {
			olderInit(t, dir, false, func(l *ledger.Ledger, _ string) {
				if err := l.SetState(context.Background(), matter.StateTSA, "http://tsa.example/"); err != nil {
					t.Fatal(err)
				}
			})
		}, "a setting made after init (tsa_urls)"},
		{"older empty ledger with a run, its signer key only", func(t *testing.T, dir string) {
			olderInit(t, dir, true, func(l *ledger.Ledger, _ string) {
				if err := l.Update(context.Background(), func(tx *ledger.Tx) error {
					return tx.PutRun(ledger.Run{ID: "run-1", Kind: "export", Status: ledger.RunRunning})
				}); err != nil {
					t.Fatal(err)
				}
			})
		}, "it records 1 runs begun"},
		{"another ledger's key beside a partial one", func(t *testing.T, dir string) {
			emptyMatter(t, dir)
			mv(t, filepath.Join(dir, "custody.db"), filepath.Join(dir, ".custody.db.partial-42"))
			other := t.TempDir()
			emptyMatter(t, other)
			mv(t, filepath.Join(other, "custody.pub"), filepath.Join(dir, "custody.pub"))
		}, "custody.key already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.leave(t, dir)
			before := list(t, dir)
			_, err := matter.Create(ctx, matter.Options{Ledger: filepath.Join(dir, "custody.db")}, "m")
			if !errors.Is(err, matter.ErrExists) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrExists saying %q", err, tc.want)
			}
			for _, f := range before {
				if !strings.Contains(f, ".partial-") {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("%s was removed", f)
					}
				}
			}
		})
	}
}

func list(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
