package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/produce"
	"github.com/custodyhq/custody/internal/verify"
)

// TestRSMFZipNamesNotTheSenders: an attachment's entry in rsmf.zip is
// named by its content (SHA-256) and its MIME type's extension, whatever
// file name the sender gave it; the name as sent is the attachment's
// display only. Names that would escape the folder a reviewer extracts
// rsmf.zip to, or hide what they are, never reach the zip; the
// production verifies.
func TestRSMFZipNamesNotTheSenders(t *testing.T) {
	safe := regexp.MustCompile(`^[0-9a-f]{64}(-[0-9]+)?(\.[a-z0-9]+)?$`)
	for _, tc := range []struct{ name, filename, mime, ext string }{
		{"parent", "../../../etc/cron.d/x.pdf", "application/pdf", ".pdf"},
		{"absolute", "/etc/passwd", "image/png", ".png"},
		{"backslash", `..\..\Windows\System32\evil.dll`, "application/octet-stream", ".dll"},
		{"drive", `C:\evil.jpg`, "image/jpeg", ".jpg"},
		{"nul", "a.pdf\x00.exe", "application/pdf", ".pdf"},
		{"control", "photo\r\n\x1b[2J\u202egpj.exe", "image/jpeg", ".jpg"},
		{"long", strings.Repeat("a", 5000) + ".txt", "text/plain", ".txt"},
		{"dot", ".", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, st, key := fixture(t, dir, 1, 2) // message 0 has an attachment
			recaptureMessage(t, l, st, "m0000000-0000-4000-8000-000000000000", func(md *genesys.MessageData) {
				a := md.NormalizedMessage.Content[0].Attachment
				a.Filename, a.Mime = tc.filename, tc.mime
			})
			out := filepath.Join(dir, "p")
			ctx := context.Background()
			if _, err := produce.Run(ctx, produce.Deps{Ledger: l, Store: st},
				produce.Options{Out: out, Format: produce.FormatBoth, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
				t.Fatal(err)
			}
			names, _ := filepath.Glob(filepath.Join(out, "rsmf", "*.rsmf"))
			found := false
			for _, name := range names {
				data, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				f, err := produce.ReadRSMF(data)
				if err != nil {
					t.Fatal(err)
				}
				for entry := range f.Files {
					if !safe.MatchString(entry) {
						t.Errorf("rsmf.zip entry %q: not named by its content", entry)
					}
				}
			}
			events, _, _, _ := readBack(t, out)
			for _, ev := range events {
				for _, a := range ev.Attachments {
					if a.Display != tc.filename {
						continue
					}
					found = true
					if !safe.MatchString(a.ID) || !strings.HasSuffix(a.ID, tc.ext) || tc.ext == "" && strings.Contains(a.ID, ".") {
						t.Errorf("attachment %.40q: entry %q, want its SHA-256 and %q", tc.filename, a.ID, tc.ext)
					}
				}
			}
			if !found {
				t.Fatalf("no attachment displayed as %.40q", tc.filename)
			}
			rep, err := verify.Production(ctx, out, verify.ProductionOptions{VerifierKey: l.VerifierKey(), Ledger: l})
			if err != nil || !rep.OK {
				t.Fatalf("verify: %v %+v", err, rep)
			}
		})
	}
}
