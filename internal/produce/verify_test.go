package produce_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/verify"
)

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// produced captures 12 conversations and produces them in both formats:
// the matter, the production folder and its manifest.
func produced(t *testing.T) (*matter, string, *production.Manifest) {
	t.Helper()
	m := capture(t, 12)
	out := filepath.Join(t.TempDir(), "prod")
	if _, err := m.produce(t, out, produce.Options{Format: produce.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(out, production.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := production.ParseManifest(man)
	if err != nil {
		t.Fatal(err)
	}
	return m, out, pm
}

// TestVerifyProductionNamesEditedFile edits each kind of produced file in
// turn: verify --production must fail and name it.
func TestVerifyProductionNamesEditedFile(t *testing.T) {
	m, out, pm := produced(t)
	ctx := context.Background()
	key := m.l.VerifierKey()
	rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: key, Ledger: m.l})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || !rep.LedgerChecked || rep.Messages == 0 || rep.Proofs < rep.Messages {
		t.Fatalf("the production as written does not verify: %+v", rep)
	}
	// One file of each kind.
	targets := map[string]string{production.ManifestFile: "", production.ProofFile: ""}
	for _, f := range pm.Files {
		kind := filepath.Dir(f.Path) + filepath.Ext(f.Path)
		if _, ok := targets[kind]; !ok {
			targets[kind] = f.Path
		}
	}
	for kind, name := range targets {
		if name == "" {
			name = kind
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			copyDir(t, out, dir)
			p := filepath.Join(dir, filepath.FromSlash(name))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// Change one byte in the middle: a file of the same size.
			i := len(b) / 2
			for b[i] == '\n' || b[i] == '"' || b[i] == '{' || b[i] == '}' {
				i++
			}
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := verify.Production(ctx, dir, verify.ProductionOptions{VerifierKey: key})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("editing %s went unnoticed", name)
			}
			named := false
			for _, f := range rep.Findings {
				named = named || f.File == name
			}
			if !named {
				t.Errorf("editing %s: findings %v do not name it", name, rep.Findings)
			}
		})
	}
	t.Run("added and removed files", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "p")
		copyDir(t, out, dir)
		os.WriteFile(filepath.Join(dir, "rsmf", "extra.rsmf"), []byte("x"), 0o644)
		gone := pm.Files[len(pm.Files)-1].Path
		os.Remove(filepath.Join(dir, filepath.FromSlash(gone)))
		rep, err := verify.Production(ctx, dir, verify.ProductionOptions{VerifierKey: key})
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, f := range rep.Findings {
			s += f.String() + "\n"
		}
		if rep.OK || !strings.Contains(s, "rsmf/extra.rsmf: file: not listed") || !strings.Contains(s, gone+": file: missing") {
			t.Errorf("findings:\n%s", s)
		}
	})
}
