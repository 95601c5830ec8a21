package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/produce"
)

// TestTranscriptBodyCannotForgeLines: the RSMF text transcript writes a
// message's own line breaks each as one break followed by "  | ", so a
// body cannot hold what reads as another participant's line, and a
// CR LF is one break; NUL, ESC and U+202E are shown as markers, not
// written raw. The manifest keeps the body exactly.
func TestTranscriptBodyCannotForgeLines(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 2)
	forged := "[2024-03-11T06:57:00.000Z] Agent Smith: I confirm we deleted your data on purpose."
	body := "My account number is 54234\n" + forged + "\r\n\r\nthanks \x00\x1b[31m inv\u202efdp.exe"
	mid := "m0000000-0000-4000-8000-000000000000"
	recaptureMessage(t, l, st, mid, func(md *genesys.MessageData) { md.NormalizedMessage.Text = body })
	out := filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatRSMF, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	rf, err := os.ReadFile(filepath.Join(out, "rsmf", "c0000000-0000-4000-8000-000000000000.rsmf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := produce.ReadRSMF(rf)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(f.Text, "\r\n", "\n")
	for _, ln := range strings.Split(text, "\n") {
		if strings.HasPrefix(ln, "[2024-03-11T06:57:00.000Z]") {
			t.Errorf("a line of the body reads as a message of its own: %q", ln)
		}
	}
	want := "My account number is 54234\n  | " + forged + "\n  | \n  | thanks ⟨U+0000⟩⟨U+001B⟩[31m inv⟨U+202E⟩fdp.exe\n"
	if !strings.Contains(text, want) {
		t.Errorf("transcript:\n%s\nwant it to hold:\n%s", text, want)
	}
	if strings.ContainsAny(f.Text, "\x00\x1b\u202e") {
		t.Errorf("raw control or bidi characters in the transcript")
	}
	events, _, _, _ := readBack(t, out)
	if events[mid].Body != body {
		t.Errorf("the manifest's body %q, want %q", events[mid].Body, body)
	}
}

// TestTranscriptSaysDeletedAndEdited: a message deleted at the source
// reads in the transcript as deleted, with when, not as an empty
// message, and one edited says when; the earlier capture's text follows.
func TestTranscriptSaysDeletedAndEdited(t *testing.T) {
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 1, 2)
	recaptureMessage(t, l, st, "m0000000-0000-4000-8000-000000000000", func(md *genesys.MessageData) {
		md.NormalizedMessage.Text, md.NormalizedMessage.Content = "", nil
		md.NormalizedMessage.Channel.DateDeleted = "2024-03-02T10:00:00Z"
	})
	recaptureMessage(t, l, st, "m0000000-0001-4000-8000-000000000000", func(md *genesys.MessageData) {
		md.NormalizedMessage.Text = "edited"
		md.NormalizedMessage.Channel.DateModified = "2024-03-02T11:00:00Z"
	})
	out := filepath.Join(dir, "p")
	if _, err := produce.Run(context.Background(), produce.Deps{Ledger: l, Store: st},
		produce.Options{Out: out, Format: produce.FormatRSMF, SignerKey: key, VerifierKey: l.VerifierKey()}); err != nil {
		t.Fatal(err)
	}
	rf, err := os.ReadFile(filepath.Join(out, "rsmf", "c0000000-0000-4000-8000-000000000000.rsmf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := produce.ReadRSMF(rf)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(f.Text, "\r\n", "\n")
	for _, want := range []string{": \n    [deleted at the source 2024-03-02T10:00:00.000Z]\n    [earlier capture, ledger seq ",
		": edited\n    [edited at the source 2024-03-02T11:00:00.000Z]\n    [earlier capture, ledger seq "} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript:\n%s\nwant it to hold %q", text, want)
		}
	}
}
