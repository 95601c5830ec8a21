package verify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/verify"
)

// TestProductionOSLitter: verify --production ignores, with a warning,
// only the files an operating system writes into a folder: .DS_Store and
// AppleDouble ._NAME files whose bytes are what macOS writes, a __MACOSX/
// folder at the production's root holding AppleDouble files, Thumbs.db
// and desktop.ini. The same names holding anything else, or a __MACOSX/
// folder deeper down (rsmf/__MACOSX/forged.rsmf, which a review platform
// loading rsmf/ would take in), fail, naming the file: they passed on
// their names alone before.
func TestProductionOSLitter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, _, _, out := producedMatter(t, dir)
	rsmf, err := filepath.Glob(filepath.Join(out, "rsmf", "*.rsmf"))
	if err != nil || len(rsmf) == 0 {
		t.Fatal(rsmf, err)
	}
	message, err := os.ReadFile(rsmf[0])
	if err != nil {
		t.Fatal(err)
	}
	appleDouble := append([]byte{0x00, 0x05, 0x16, 0x07, 0x00, 0x02, 0x00, 0x00}, make([]byte, 4088)...)
	dsStore := append([]byte{0x00, 0x00, 0x00, 0x01, 0x42, 0x75, 0x64, 0x31}, make([]byte, 6140)...)
	thumbs := append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, make([]byte, 1016)...)
	genuine := map[string][]byte{
		".DS_Store":                     dsStore,
		"rsmf/.DS_Store":                dsStore,
		"dat/natives/._CUST0000001.txt": appleDouble,
		"__MACOSX/rsmf/._x.rsmf":        appleDouble,
		"__MACOSX/._dat":                appleDouble,
		"dat/Thumbs.db":                 thumbs,
		"rsmf/desktop.ini":              []byte("[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\shell32.dll,4\r\n"),
	}
	write := func(files map[string][]byte) {
		t.Helper()
		for name, b := range files {
			p := filepath.Join(out, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(genuine)
	o := verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l}
	rep, err := verify.Production(ctx, out, o)
	if err != nil || !rep.OK {
		t.Fatalf("what the operating system writes: %v %+v", err, rep.Findings)
	}
	for name := range genuine {
		if !slices.Contains(rep.Ignored, name) {
			t.Errorf("%s not ignored: %v", name, rep.Ignored)
		}
	}

	forged := map[string][]byte{
		"rsmf/__MACOSX/forged.rsmf":     message,                // __MACOSX/ below the root
		"rsmf/__MACOSX/._forged.rsmf":   appleDouble,            // even holding an AppleDouble file
		"__MACOSX/forged.rsmf":          message,                // not an AppleDouble file
		"dat/natives/._CUST0000009.txt": []byte("We admit it."), // a ._NAME file of any content
		"rsmf/._forged.rsmf":            message,
		"dat/.DS_Store":                 []byte("Bud1"),
		"dat/natives/Thumbs.db":         []byte("not a thumbnail cache"),
		"._big":                         append(slices.Clone(appleDouble), bytes.Repeat([]byte{1}, 5<<20)...), // not small
		"rsmf/desktop.ini":              bytes.Repeat([]byte("x"), 5<<20),
		"__MACOSX/rsmf/._short":         {0x00, 0x05},
	}
	write(forged)
	rep, err = verify.Production(ctx, out, o)
	if err != nil || rep.OK {
		t.Fatalf("files named as the operating system's, holding anything: %v ok %v", err, rep.OK)
	}
	for name := range forged {
		if slices.Contains(rep.Ignored, name) {
			t.Errorf("%s ignored", name)
		}
		if !slices.ContainsFunc(rep.Findings, func(f verify.ProductionFinding) bool {
			return f.File == name && f.Check == verify.ProdCheckFile
		}) {
			t.Errorf("no file failure names %s: %v", name, rep.Findings)
		}
	}
	for _, f := range rep.Findings {
		if _, ok := forged[f.File]; !ok {
			t.Errorf("unexpected finding %s", f)
		}
		if strings.HasPrefix(f.File, "dat/natives/._") && !strings.Contains(f.Message, "AppleDouble") {
			t.Errorf("%s: the failure does not say what the file should have been", f)
		}
	}
}
