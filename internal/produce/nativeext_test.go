package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/production"
)

// TestNativeExtFromMIME: an attachment's native takes the extension of
// its MIME type, not of the name the sender gave it: evil.pdf.exe of
// type application/pdf is natives/CTRL.pdf, FILENAME evil.pdf.exe.
func TestNativeExtFromMIME(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 2) // message 0 has an attachment
	recaptureMessage(t, l, st, "m0000000-0000-4000-8000-000000000000", func(md *genesys.MessageData) {
		a := md.NormalizedMessage.Content[0].Attachment
		a.Filename, a.Mime = "evil.pdf.exe", "application/pdf"
	})
	out := filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatDAT, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	dat, err := os.ReadFile(filepath.Join(out, production.DATFile))
	if err != nil {
		t.Fatal(err)
	}
	cols, rows, err := production.ReadDAT(dat)
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range cols {
		col[c] = i
	}
	found := map[string]string{}
	for _, r := range rows {
		if r[col["PARENT_DOCID"]] != "" {
			found[r[col["FILENAME"]]] = r[col["NATIVE_PATH"]]
		}
	}
	if p := found["evil.pdf.exe"]; !strings.HasSuffix(p, ".pdf") {
		t.Errorf("evil.pdf.exe (application/pdf) produced as %q, want a .pdf", p)
	}
	if p := found["photo.png"]; !strings.HasSuffix(p, ".png") { // the earlier capture's
		t.Errorf("photo.png (image/png) produced as %q", p)
	}
}
